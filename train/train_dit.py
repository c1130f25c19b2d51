"""Train the dynamics model with accelerate: ``wm-video train`` (``accelerate launch`` for several processes).

Two kinds of step, drawn at random. Diffusion forcing: every frame of a clip gets its own noise
level and the loss covers every frame. Teacher forcing, laid out as play sees it: half a clip
twice, first its frames lightly noised (up to ``context_noise_max``, labelled with their level)
as the past, then the same frames noisy; each noisy frame sees the past before it and itself,
so every frame is a next-frame prediction (one clip of play-like context gave only its last
frame before, and the model learned to copy instead of to move). The noised past teaches the
model to trust a slightly wrong history, and in ``own_past`` of the teacher-forced steps the
past is the model's own one-step guesses of those frames, the kind of history play gives it:
both are there to keep long rollouts from drifting.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from data_tools.dataset import DatasetError
from data_tools.latents import LatentInfo
from wm_video.actions import ACTION_DIM
from wm_video.diffusion import add_noise, predicted_clean, training_levels, velocity_target
from wm_video.errors import UserError
from wm_video.models.dit import WorldDiT
from wm_video.models.storage import load_model
from wm_video.models.vae import FrameVAE
from wm_video.world_model import WorldModel, WorldModelInfo

from .accelerator import make_accelerator
from .checkpoints import latest_checkpoint, restore, save_checkpoint
from .clips import LatentClips
from .configs import DIT_PRESETS, DiTTrainConfig
from .optim import ema_weights, endless_batches, schedule, update
from .samples import sample_video


def dit_loss(model: WorldDiT, latents: torch.Tensor, actions: torch.Tensor, cfg: DiTTrainConfig
             ) -> tuple[torch.Tensor, dict]:
    """``(loss, logs)`` for clips of scaled latents (B, T, C, h, w) and producing actions (B, T, 25)."""
    if torch.rand(()) < cfg.diffusion_forcing:
        return diffusion_forcing_loss(model, latents, actions, cfg)
    return teacher_forcing_loss(model, latents, actions, cfg)


def diffusion_forcing_loss(model: WorldDiT, latents: torch.Tensor, actions: torch.Tensor, cfg: DiTTrainConfig
                           ) -> tuple[torch.Tensor, dict]:
    """Every frame of the clip at its own noise level, the loss on every frame."""
    b, n = latents.shape[:2]
    levels = training_levels((b, n), cfg.level_shift).to(latents.device)
    noise = torch.randn_like(latents)
    drop = torch.rand(b, n, device=latents.device) < cfg.action_dropout
    v = model(add_noise(latents, noise, levels), levels, actions, drop_actions=drop)
    loss = F.mse_loss(v.float(), velocity_target(latents, noise))
    return loss, {"loss": loss.item(), "loss_diffusion_forcing": loss.item()}


def teacher_forcing_loss(model: WorldDiT, latents: torch.Tensor, actions: torch.Tensor, cfg: DiTTrainConfig
                         ) -> tuple[torch.Tensor, dict]:
    n = latents.shape[1] // 2  # past + noisy copies: the same token count as a diffusion-forcing step
    z, a = latents[:, :n], actions[:, :n]
    own = bool(torch.rand(()) < cfg.own_past)
    past = own_predictions(model, z, a, cfg) if own else z
    noise = torch.randn_like(z)
    levels = training_levels(z.shape[:2], cfg.level_shift).to(z.device)
    v = teacher_forced_velocity(model, past, add_noise(z, noise, levels), levels, a, cfg, cfg.action_dropout)
    loss = F.mse_loss(v, velocity_target(z, noise))
    return loss, {"loss": loss.item(), f"loss_teacher_forced{'_own_past' if own else ''}": loss.item()}


def teacher_forced_velocity(model: WorldDiT, past: torch.Tensor, noisy: torch.Tensor, levels: torch.Tensor,
                            actions: torch.Tensor, cfg: DiTTrainConfig, action_dropout: float) -> torch.Tensor:
    """The model's velocity for each noisy frame i (B, n, ...) seeing past frames < i, lightly noised."""
    b, n = levels.shape
    past_levels = torch.rand(b, n, device=levels.device) * cfg.context_noise_max
    x = torch.cat([add_noise(past, torch.randn_like(past), past_levels), noisy], dim=1)
    t = torch.cat([past_levels, levels], dim=1)
    drop = torch.rand(t.shape, device=t.device) < action_dropout
    v = model(x, t, actions.repeat(1, 2, 1), drop_actions=drop, positions=torch.arange(n).repeat(2),
              frame_mask=teacher_forcing_mask(n, levels.device))
    return v[:, n:].float()


@torch.no_grad()
def own_predictions(model: WorldDiT, z: torch.Tensor, actions: torch.Tensor, cfg: DiTTrainConfig) -> torch.Tensor:
    """Clean frames (B, n, ...) with frames 1.. replaced by the model's own one-step guesses of them.

    In play the past is the model's own output, blurrier than the game; a model trained only on
    real pasts compounds that blur frame by frame until the picture dissolves into sky-coloured
    haze. Each guess sees the real frames before it and its frame noised to a level in [0.5, 1]
    (the sampler's last step starts at 0.6 with the play defaults), the errors play gives it.
    """
    levels = 0.5 + 0.5 * torch.rand(z.shape[:2], device=z.device)
    noisy = add_noise(z, torch.randn_like(z), levels)
    guess = predicted_clean(noisy, teacher_forced_velocity(model, z, noisy, levels, actions, cfg, 0.0), levels)
    return torch.cat([z[:, :1], guess[:, 1:].to(z.dtype)], dim=1)


def teacher_forcing_mask(n: int, device=None) -> torch.Tensor:
    """(2n, 2n): past frame i sees past frames <= i; noisy frame i sees past frames < i and itself."""
    causal = torch.ones(n, n, dtype=torch.bool, device=device).tril()
    return torch.cat([torch.cat([causal, torch.zeros_like(causal)], 1),
                      torch.cat([causal.tril(-1), torch.eye(n, dtype=torch.bool, device=device)], 1)], 0)


def patch_size_for(h: int, w: int) -> int:
    """The patch side that keeps a frame near 8x8 = 64 tokens, what plays in real time on a CPU: 2 for a
    16x16 latent, 4 for 32x32. It must divide both sides: smaller where the larger one does not."""
    p = max(2, min(h, w) // 8)
    while h % p or w % p:
        p -= 1
    return p


def build_model(cfg: DiTTrainConfig, latent_shape: tuple[int, int, int], init: str | Path | None) -> WorldDiT:
    c, h, w = latent_shape
    if init is not None:
        model = load_model(WorldDiT, init, **cfg.model_overrides)
    else:
        model = WorldDiT(**{"latent_channels": c, "latent_size": (h, w), "patch_size": patch_size_for(h, w),
                            **DIT_PRESETS[cfg.model], **cfg.model_overrides})
    mc = model.config
    if (mc.latent_channels, *mc.latent_size) != (c, h, w):
        raise UserError(f"the model takes latents {mc.latent_channels}x{tuple(mc.latent_size)} "
                        f"({model.tokens_per_frame} tokens per frame), the dataset holds {c}x{(h, w)}")
    if mc.action_dim != ACTION_DIM:
        raise UserError(f"the model takes {mc.action_dim}-dim actions, the dataset has {ACTION_DIM}")
    if cfg.clip_frames > mc.max_frames:
        raise UserError(f"clip_frames {cfg.clip_frames} exceeds the model's max_frames {mc.max_frames}")
    return model


def clip_sampler(clips: LatentClips, cfg: DiTTrainConfig, data: str | Path) -> torch.utils.data.Sampler:
    """Clips in random order, or, with ``focus_actions``, drawn so that those holding one of them are
    ``focus_share`` of all (with replacement: the few are seen again, the many not all each epoch)."""
    generator = torch.Generator().manual_seed(cfg.seed)
    if not cfg.focus_actions:
        return torch.utils.data.RandomSampler(clips, generator=generator)
    if not 0 < cfg.focus_share < 1:
        raise UserError(f"focus_share must be between 0 and 1, got {cfg.focus_share}")
    holds = clips.holding(cfg.focus_actions)
    if holds.all() or not holds.any():
        raise DatasetError(f"{data}: {'every' if holds.all() else 'no'} training clip holds one of "
                           f"{', '.join(cfg.focus_actions)}; focus_actions needs clips with and without them")
    weights = torch.where(holds, cfg.focus_share / holds.sum(), (1 - cfg.focus_share) / (~holds).sum())
    return torch.utils.data.WeightedRandomSampler(weights.double(), len(clips), generator=generator)


def trainable_parameters(model: WorldDiT, names: list[str]) -> list[torch.nn.Parameter]:
    """The parameters whose names start with one of ``names`` (all if it is empty); the rest are frozen.

    Training only a part just added to a trained model (``model_overrides`` with ``--init``) teaches
    it without moving what the rest already does.
    """
    chosen = [p for name, p in model.named_parameters() if not names or name.startswith(tuple(names))]
    if not chosen:
        parts = sorted({name.split(".")[0] for name, _ in model.named_parameters()})
        raise UserError(f"trainable {names}: no parameter of the model is named so (its parts: {', '.join(parts)})")
    keep = {id(p) for p in chosen}
    for p in model.parameters():
        p.requires_grad_(id(p) in keep)
    return chosen


def train_dit(data: str | Path, vae_path: str | Path, out: str | Path, cfg: DiTTrainConfig,
              init: str | Path | None = None) -> WorldDiT:
    """Train (or resume) into ``out``; the playable model goes to ``out/model``. Returns this process's model."""
    from diffusers.training_utils import EMAModel

    out = Path(out)
    accelerator = make_accelerator(out, cfg.grad_accum, cfg.seed)
    vae, latent_shape = load_model(FrameVAE, vae_path), LatentInfo.read(data).latent_shape
    if tuple(vae.latent_shape) != latent_shape:
        raise DatasetError(f"{data}: latents are {latent_shape}, the VAE at {vae_path} makes {tuple(vae.latent_shape)}")
    latest = latest_checkpoint(out)
    if latest is not None:
        model = WorldDiT.from_config(json.loads((out / "dit_config.json").read_text()))
    else:
        model = build_model(cfg, latent_shape, init)
    clips = LatentClips(data, cfg.clip_frames)
    params, sampler = trainable_parameters(model, cfg.trainable), clip_sampler(clips, cfg, data)
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "dit_config.json").write_text(json.dumps(dict(model.config), indent=2))
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))

    ema = EMAModel(model.parameters(), decay=cfg.ema_decay)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    scheduler = schedule(optimizer, cfg.warmup, cfg.steps)
    loader = torch.utils.data.DataLoader(clips, batch_size=cfg.batch_size, drop_last=True, sampler=sampler)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    if len(loader) == 0:
        raise DatasetError(f"{data}: {len(clips)} clips are fewer than one batch of {cfg.batch_size} per process")
    forward = torch.compile(model) if cfg.compile else model
    counter = restore(accelerator, latest, scheduler, ema)  # the schedule counts optimizer steps
    ema.to(accelerator.device)  # made and restored on the CPU; the model may be on a GPU now
    # TensorBoard's hparams take scalars only
    accelerator.init_trackers("train", config={k: v if isinstance(v, (int, float, str, bool)) else json.dumps(v)
                                               for k, v in asdict(cfg).items()})

    bar = tqdm(total=cfg.steps, initial=counter.step, desc="train", unit="step",
               disable=not accelerator.is_local_main_process)
    model.train()
    start, logs = time.perf_counter(), {}
    batches = endless_batches(accelerator, loader, counter.step * cfg.grad_accum)
    while counter.step < cfg.steps:
        for _ in range(cfg.grad_accum):
            latents, actions = next(batches)
            with accelerator.accumulate(model):
                loss, logs = dit_loss(forward, latents, actions, cfg)
                update(accelerator, model, optimizer, loss)
        scheduler.step()
        ema.step(accelerator.unwrap_model(model).parameters())
        counter.step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{logs['loss']:.4f}")
        if counter.step % cfg.log_every == 0:
            elapsed = time.perf_counter() - start
            frames = cfg.batch_size * cfg.grad_accum * cfg.clip_frames * cfg.log_every * accelerator.num_processes
            logs.update(lr=scheduler.get_last_lr()[0], frames_per_s=frames / elapsed)
            accelerator.log({f"train/{k}": v for k, v in logs.items()}, step=counter.step)
            start = time.perf_counter()
        done = counter.step == cfg.steps
        if counter.step % cfg.checkpoint_every == 0 or done:
            save_checkpoint(accelerator, out, counter)
            if accelerator.is_main_process:
                export(accelerator.unwrap_model(model), ema, vae, clips, out / "model")
        if accelerator.is_main_process and (counter.step % cfg.sample_every == 0 or done):
            sample_video(accelerator, WorldModel.load(out / "model"), clips, cfg.sample_frames, counter.step, out)
    bar.close()
    accelerator.end_training()
    return accelerator.unwrap_model(model)


def export(model: WorldDiT, ema, vae: FrameVAE, clips: LatentClips, path: Path) -> None:
    """Save the EMA weights with the VAE as a playable model folder."""
    averaged = ema_weights(model, ema)
    info = clips.latent_info
    frame = vae.config.image_size
    WorldModel(vae, averaged, WorldModelInfo(info.scaling_factor, fps=clips.fps, width=frame[1],
                                             height=frame[0])).save(path)
