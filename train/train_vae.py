"""Train the frame VAE with accelerate: ``wm-video train-vae`` (``accelerate launch`` for several GPUs).

Losses: L1 + MSE on pixels, L1 on image gradients (keeps block edges and texel speckle
sharp; no pretrained perceptual network is available offline) and a small KL term.
Checkpoints every ``checkpoint_every`` steps; a rerun with the same ``--out`` resumes.
With ``decoder_only`` the encoder of ``init`` stays frozen, so its latents, and any DiT trained
on them, stay valid while the decoder gets sharper (as Stable Diffusion's ft-MSE decoder did).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from data_tools.dataset import read_info
from wm_video.errors import UserError
from wm_video.metrics import psnr
from wm_video.models.storage import save_pretrained_atomic
from wm_video.models.vae import FrameVAE

from .accelerator import make_accelerator
from .checkpoints import latest_checkpoint, restore, save_checkpoint
from .configs import VAETrainConfig
from .frames import FrameSource, prefetched
from .optim import schedule, update


def image_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def reconstruction_loss(recon: torch.Tensor, frames: torch.Tensor, mse_weight: float, grad_weight: float
                        ) -> torch.Tensor:
    """L1 + weighted MSE on pixels + weighted L1 on image gradients, frames (B, 3, H, W) in [-1, 1]."""
    (rx, ry), (fx, fy) = image_gradients(recon), image_gradients(frames)
    grad = F.l1_loss(rx, fx) + F.l1_loss(ry, fy)
    return F.l1_loss(recon, frames) + mse_weight * F.mse_loss(recon, frames) + grad_weight * grad


def vae_loss(vae: FrameVAE, frames: torch.Tensor, cfg: VAETrainConfig) -> tuple[torch.Tensor, dict]:
    """``(loss, logs)`` for a batch of frames in [-1, 1]."""
    recon, posterior = vae(frames)
    recon = recon.float()
    pixels = reconstruction_loss(recon, frames, cfg.mse_weight, cfg.grad_weight)
    kl = posterior.kl().mean() / frames[0].numel()
    loss = pixels + cfg.kl_weight * kl
    with torch.no_grad():
        p = psnr((recon.clamp(-1, 1) + 1) / 2, (frames + 1) / 2).mean()
    return loss, {"loss": loss.item(), "reconstruction": pixels.item(), "kl": kl.item(), "psnr": p.item()}


def train_vae(data: str | Path, out: str | Path, cfg: VAETrainConfig, init: str | Path | None = None) -> Path:
    """Train (or resume) into ``out``; return the path of the exported VAE (``out/vae``)."""

    out = Path(out)
    accelerator = make_accelerator(out, cfg.grad_accum, cfg.seed)
    latest = latest_checkpoint(out)
    if cfg.decoder_only and latest is None and init is None:
        raise UserError("--decoder-only needs --init: the trained VAE whose encoder (latent space) to keep")
    if latest is not None:
        if json.loads((out / "train_config.json").read_text()).get("decoder_only", False) != cfg.decoder_only:
            raise UserError(f"{out}: was started {'without' if cfg.decoder_only else 'with'} --decoder-only; "
                            "resume it the same way")
        vae = FrameVAE.from_config(json.loads((out / "vae_config.json").read_text()))
    elif init is not None:
        vae = FrameVAE.from_pretrained(str(init))  # continue from released weights
    else:
        info = read_info(data)
        try:
            vae = FrameVAE(**{"image_size": (info.height, info.width), **cfg.vae})
        except ValueError as e:
            raise UserError(f"cannot build this VAE: {e}") from None
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "vae_config.json").write_text(json.dumps(dict(vae.config), indent=2))
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
    source = FrameSource(data, image_size=tuple(vae.config.image_size))

    if cfg.decoder_only:
        vae.encoder.requires_grad_(False)
    trained = vae.decoder if cfg.decoder_only else vae
    optimizer = torch.optim.AdamW(trained.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    scheduler = schedule(optimizer, cfg.warmup, cfg.steps)
    vae, optimizer = accelerator.prepare(vae, optimizer)
    counter = restore(accelerator, latest, scheduler)  # the schedule counts optimizer steps
    accelerator.init_trackers("train-vae", config={k: v for k, v in asdict(cfg).items() if k != "vae"})

    bar = tqdm(total=cfg.steps, initial=counter.step, desc="train-vae", unit="step",
               disable=not accelerator.is_local_main_process)
    vae.train()
    start, logs = time.perf_counter(), {}
    keys = ((cfg.batch_size, cfg.seed, step, accelerator.process_index, micro)
            for step in range(counter.step, cfg.steps) for micro in range(cfg.grad_accum))
    # On a GPU the next batch decodes while this one trains; on a CPU that would only take the training's cores.
    on_cpu = accelerator.device.type == "cpu"
    batches = (source.batch(*key) for key in keys) if on_cpu else prefetched(source.batch, keys)
    while counter.step < cfg.steps:
        for _ in range(cfg.grad_accum):
            frames = next(batches)
            with accelerator.accumulate(vae):
                loss, logs = vae_loss(vae, frames.to(accelerator.device), cfg)
                update(accelerator, vae, optimizer, loss)
        scheduler.step()
        counter.step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{logs['loss']:.4f}", psnr=f"{logs['psnr']:.1f}")
        if counter.step % cfg.log_every == 0:
            logs["lr"] = scheduler.get_last_lr()[0]
            logs["frames_per_s"] = cfg.batch_size * cfg.grad_accum * cfg.log_every / (time.perf_counter() - start)
            accelerator.log({f"train/{k}": v for k, v in logs.items()}, step=counter.step)
            start = time.perf_counter()
        if counter.step % cfg.image_every == 0 and accelerator.is_main_process:
            _log_reconstructions(accelerator, vae, frames[:4], counter.step)
        if counter.step % cfg.checkpoint_every == 0 or counter.step == cfg.steps:
            save_checkpoint(accelerator, out, counter)
            if accelerator.is_main_process:
                save_pretrained_atomic(accelerator.unwrap_model(vae), out / "vae")
    bar.close()
    accelerator.end_training()
    return out / "vae"


@torch.no_grad()
def _log_reconstructions(accelerator, vae, frames: torch.Tensor, step: int) -> None:
    model = accelerator.unwrap_model(vae)
    model.eval()
    recon = model(frames.to(accelerator.device), sample=False)[0].float().clamp(-1, 1).cpu()
    model.train()
    grid = torch.cat([torch.cat(list(frames), 2), torch.cat(list(recon), 2)], 1)  # originals above
    tracker = accelerator.get_tracker("tensorboard", unwrap=True)
    tracker.add_image("reconstructions", (grid + 1) / 2, step)
