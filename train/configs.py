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


def load_config(path: str | Path | None, cls: type = DiTTrainConfig, **overrides):
    """A ``cls`` (DiTTrainConfig or VAETrainConfig): its defaults, then the file (if any), then explicit
    overrides that are not None. Both trainers are configured this way: a file, and flags over it."""
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
    if isinstance(cfg, DiTTrainConfig) and cfg.model not in DIT_PRESETS:
        raise UserError(f"unknown model size {cfg.model!r}; choose one of {', '.join(DIT_PRESETS)}")
    return cfg
