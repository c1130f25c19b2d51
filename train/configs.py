"""Model sizes and training settings, as dataclasses. ``--config FILE`` (YAML or JSON) overrides fields."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from wm_video.errors import UserError

# DiT sizes. "default" is the shipped model: ~17M parameters (34 MB in bf16, with the VAE under the
# 40 MB budget), 64 tokens per frame, real time on 2 CPU cores.
DIT_PRESETS: dict[str, dict] = {
    "tiny": {"width": 64, "depth": 2, "heads": 2, "max_frames": 8},  # tests
    "small": {"width": 256, "depth": 6, "heads": 4, "max_frames": 16},
    "default": {"width": 384, "depth": 6, "heads": 6, "max_frames": 16},
}

# The shipped VAE's layout: a 16x16x16 latent at 128x128 (downsampling 8, 12x compression).
VAE_LAYOUT = {"latent_channels": 16, "encoder_channels": (48, 96, 128), "decoder_channels": (128, 96, 48)}


@dataclass
class DiTTrainConfig:
    model: str = "default"  # a DIT_PRESETS name
    model_overrides: dict = field(default_factory=dict)  # WorldDiT arguments on top of the preset (or of --init)
    trainable: list = field(default_factory=list)  # names (or prefixes) of the parameters to train; empty: all
    steps: int = 20000
    batch_size: int = 8  # clips per process and micro-batch
    clip_frames: int = 16  # frames per training clip (<= max_frames)
    grad_accum: int = 1
    lr: float = 3e-4
    warmup: int = 200
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    action_dropout: float = 0.1  # per frame: the action replaced by the learned "unknown" (the shipped recipe)
    level_shift: float = 3.0  # training noise levels shifted towards noise as the sampler's (RolloutConfig.shift)
    context_noise_max: float = 0.3  # context frames are noised up to this level (anti-drift augmentation)
    diffusion_forcing: float = 0.5  # share of steps with a free noise level per frame; the rest teacher-forced
    own_past: float = 0.5  # share of teacher-forced steps whose past is the model's own guesses (costs a forward)
    # Clips holding one of these actions (names as in wm_video.actions) make up focus_share of the clips
    # drawn: a rare key, such as a number key, is seen often enough to be learnt.
    focus_actions: list = field(default_factory=list)
    focus_share: float = 0.5
    compile: bool = False
    checkpoint_every: int = 500
    log_every: int = 25
    sample_every: int = 1000
    sample_frames: int = 32  # frames generated for the sample video
    seed: int = 0


@dataclass
class VAETrainConfig:
    steps: int = 4000
    batch_size: int = 16  # per process and micro-batch
    grad_accum: int = 1
    lr: float = 4e-4
    warmup: int = 100
    weight_decay: float = 0.0
    kl_weight: float = 1e-6  # small: the latent stays close to a plain autoencoder's
    grad_weight: float = 1.0  # image-gradient L1
    mse_weight: float = 1.0
    checkpoint_every: int = 250
    log_every: int = 25
    image_every: int = 250
    seed: int = 0
    decoder_only: bool = False  # fine-tune the decoder of ``init``; the encoder (the latent space) stays
    vae: dict = field(default_factory=lambda: dict(VAE_LAYOUT))  # FrameVAE arguments for a new VAE (not with init)


@dataclass
class OnePassTrainConfig:
    """``wm-video train-one-pass``: a model that makes each frame in one DiT pass (stages in train/one_pass.py)."""

    stage: str = "distill"  # "distill": --init's Euler sampler into one pass; "adversarial": on its own rollouts
    steps: int = 1000
    batch_size: int = 4  # clips per process
    clip_frames: int = 10  # frames per clip: the prompt and, in the adversarial stage, the generated rest
    prompt_frames: int = 4  # adversarial: the real frames each training rollout starts from
    lr: float = 5e-5
    warmup: int = 50
    ema_decay: float = 0.995
    disc_lr: float = 1e-4
    disc_depth: int = 3  # the discriminator: --init's patch embedding and first blocks, and a logit head
    disc_noise_max: float = 0.3  # real and made clips are noised alike to a level up to this before judging
    r1_weight: float = 1.0  # the discriminator's smoothness around real and made clips (approximate R1 and R2)
    regression_weight: float = 0.1  # adversarial: teacher-forced MSE to the real frames, to anchor content
    layout_weight: float = 1.0  # adversarial: made frames' MSE to the real ones on a coarse grid (train/one_pass.py)
    checkpoint_every: int = 100
    log_every: int = 10
    sample_every: int = 200
    sample_frames: int = 48
    seed: int = 0


@dataclass
class DecoderTrainConfig:
    """``wm-video train-decoder``: a world model's decoder fine-tuned adversarially (train/train_decoder.py)."""

    steps: int = 1000
    batch_size: int = 4  # clips per process; each gives clip_frames - 1 codes and as many guesses to decode
    clip_frames: int = 4  # the first frame is only a past for the guesses
    lr: float = 5e-5
    warmup: int = 50
    disc_lr: float = 1e-4
    disc_width: int = 64  # the patch discriminator's first layer's channels
    disc_warmup: int = 100  # steps the discriminator trains alone before the decoder listens to it
    adv_weight: float = 0.5  # the adversarial term's pull on the decoder's last layer, relative to reconstruction's
    r1_weight: float = 1.0
    guess_l1_weight: float = 1.0  # the guesses' L1 to the real frames (0: only the discriminator judges them)
    mse_weight: float = 10.0  # the reconstruction loss (train-vae's; 10, as the shipped decoder's last fine-tune)
    grad_weight: float = 1.0
    checkpoint_every: int = 100
    log_every: int = 10
    sample_every: int = 250
    sample_frames: int = 48
    seed: int = 0


STAGES = ("distill", "adversarial")


def load_config(path: str | Path | None, cls: type = DiTTrainConfig, **overrides):
    """A ``cls`` (DiTTrainConfig, VAETrainConfig, OnePassTrainConfig, DecoderTrainConfig): its defaults, then the
    file (if any), then explicit overrides that are not None. Every trainer is configured this way: a file, and
    flags over it."""
    values: dict = {}
    if path is not None:
        import yaml

        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise UserError(f"{path}: cannot read config ({e})") from None
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise UserError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = cls(**values)
    if isinstance(cfg, OnePassTrainConfig) and (cfg.stage not in STAGES or not 0 < cfg.prompt_frames < cfg.clip_frames):
        raise UserError(f"stage must be one of {', '.join(STAGES)} (got {cfg.stage!r}) and prompt_frames "
                        f"between 1 and clip_frames - 1")
    if isinstance(cfg, DecoderTrainConfig) and (not 0 <= cfg.disc_warmup < cfg.steps or cfg.clip_frames < 2):
        raise UserError("clip_frames must be at least 2 (a frame before each guess) and disc_warmup below steps")
    if isinstance(cfg, DiTTrainConfig) and cfg.model not in DIT_PRESETS:
        raise UserError(f"unknown model size {cfg.model!r}; choose one of {', '.join(DIT_PRESETS)}")
    return cfg
