"""Train a one-pass world model from an Euler-sampler one: ``wm-video train-one-pass`` (resumes; accelerate launch).

A one-pass model makes frame i in a single DiT pass over its own tokens: pure noise at level 1,
each patch beside the same patch of frame i - 1 (APT2's "input recycling"). The pass's keys and
values are what the cache keeps, so play costs one pass of 64 tokens a frame where the Euler
sampler spends four. A clip of such passes is one frame-causal forward, which makes training cheap.

Stages, each a config in train/ (``stage``) and each started from the model the last one made:
1. ``distill``: the student learns to map noise to what ``--init``'s Euler sampler (the teacher,
   with play's settings) makes from the same noise on real contexts. Both start from the same DiT.
2. ``adversarial``: the student rolls out from real prompts on its own past (student forcing), and
   a discriminator on latent clips (train/adversarial.py) tells those rollouts from the real
   clips, and the real clips from themselves under another clip's actions. Gradients reach each
   made frame through its own pass only (its frame before is detached). A small teacher-forced MSE
   on the prompt frames anchors content, and an MSE between the made frames and the real ones on a
   coarse grid (4 x 4 cells of the latent) keeps the layout of the real continuation, where the
   walls and trees are after the player's moves, while leaving detail to the discriminator (without
   it the made world drifted off the real one at once, and the actions' effect on PSNR fell from
   +1.6 to +0.2 dB).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from data_tools.dataset import DatasetError
from data_tools.latents import LatentInfo
from wm_video.diffusion import add_noise, euler_step, predicted_clean, sampling_levels
from wm_video.errors import UserError
from wm_video.models.dit import WorldDiT
from wm_video.rollout import KVCache, RolloutConfig
from wm_video.world_model import WorldModel

from .accelerator import make_accelerator
from .adversarial import ClipDiscriminator, discriminator_loss, generator_loss
from .checkpoints import latest_checkpoint, restore, save_checkpoint
from .clips import LatentClips
from .configs import OnePassTrainConfig
from .optim import ema_weights, endless_batches, schedule, update
from .samples import sample_video
from .train_dit import teacher_forcing_mask


def one_pass_frames(model: WorldDiT, noise: torch.Tensor, before: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Frame i of a clip from ``noise[:, i]`` and ``before[:, i]`` (B, T, C, h, w), seeing the passes of frames < i."""
    level = torch.ones(noise.shape[:2], device=noise.device)
    return predicted_clean(noise, model(noise, level, actions, before=before).float(), level)


def frames_before(z: torch.Tensor) -> torch.Tensor:
    """(B, T, ...) -> each frame's frame before, zeros before the first (as ``WorldDiT.previous_frames``)."""
    return torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], dim=1)


@torch.no_grad()
def euler_samples(teacher: WorldDiT, z: torch.Tensor, actions: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """What play's Euler sampler makes of ``noise`` for each frame of a clip, seeing the real frames before it
    noised to play's context level: all frames at once, laid out as teacher-forced training lays them."""
    play = RolloutConfig()
    b, n = z.shape[:2]
    past_levels = torch.full((b, n), play.context_noise, device=z.device)
    past = add_noise(z, torch.randn_like(z), past_levels)
    levels = sampling_levels(play.steps, play.shift).tolist()
    x = noise
    for t, t_next in zip(levels[:-1], levels[1:], strict=True):
        now = torch.full((b, n), t, device=z.device)
        v = teacher(torch.cat([past, x], 1), torch.cat([past_levels, now], 1), actions.repeat(1, 2, 1),
                    positions=torch.arange(n).repeat(2), frame_mask=teacher_forcing_mask(n, z.device))[:, n:]
        x = euler_step(x, v.float(), now, torch.full_like(now, t_next))
    return x


@torch.no_grad()
def own_rollout(model: WorldDiT, z: torch.Tensor, actions: torch.Tensor, noise: torch.Tensor, prompt: int
                ) -> torch.Tensor:
    """The clip with frames ``prompt``.. replaced by the model's rollout from the real ones before them, pass by
    pass through a KV cache as in play (batched); ``noise`` (B, T, ...) is each pass's input."""
    b, n = z.shape[:2]
    cache = KVCache(model, window=n, batch=b)
    made = z.clone()
    level = torch.ones(b, 1, device=z.device)
    for i in range(n):
        v, kv = model(noise[:, i:i + 1], level, actions[:, i:i + 1], past=cache.past())
        if i >= prompt:
            made[:, i:i + 1] = predicted_clean(noise[:, i:i + 1], v.float(), level)
        cache.commit(kv, made[:, i:i + 1])
    return made


def distill_loss(student, teacher, z, actions) -> tuple[torch.Tensor, dict]:
    noise = torch.randn_like(z)
    target = euler_samples(teacher, z, actions, noise)
    loss = F.mse_loss(one_pass_frames(student, noise, frames_before(z), actions), target)
    return loss, {"loss_distill": loss.item()}


def train_one_pass(data: str | Path, init: str | Path, out: str | Path, cfg: OnePassTrainConfig) -> WorldDiT:
    """Train (or resume) stage ``cfg.stage`` into ``out``; the playable model goes to ``out/model``."""
    from diffusers.training_utils import EMAModel

    out = Path(out)
    accelerator = make_accelerator(out, 1, cfg.seed)
    source = WorldModel.load(init)
    wanted = "euler" if cfg.stage == "distill" else "one_pass"
    if source.info.sampler != wanted:
        raise UserError(f"{init}: the {cfg.stage} stage starts from a model with the {wanted} sampler, this one has "
                        f"{source.info.sampler}" + (" (run the distill stage first)" if wanted == "one_pass" else ""))
    if tuple(source.vae.latent_shape) != LatentInfo.read(data).latent_shape:
        raise DatasetError(f"{data}: latents are {LatentInfo.read(data).latent_shape}, the model at {init} "
                           f"takes {tuple(source.vae.latent_shape)}")
    if cfg.clip_frames > source.dit.config.max_frames:
        raise UserError(f"clip_frames {cfg.clip_frames} exceeds the model's max_frames {source.dit.config.max_frames}")
    if cfg.stage == "adversarial" and cfg.batch_size < 2:  # the discriminator's wrong actions come from another clip
        raise UserError(f"batch_size {cfg.batch_size}: the adversarial stage needs at least 2 clips per process")
    clips = LatentClips(data, cfg.clip_frames)
    student = copy.deepcopy(source.dit).float()
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))

    ema = EMAModel(student.parameters(), decay=cfg.ema_decay)
    betas = (0.0, 0.99) if cfg.stage == "adversarial" else (0.9, 0.99)  # no momentum against a moving opponent
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.lr, betas=betas, weight_decay=0.0)
    scheduler = schedule(optimizer, cfg.warmup, cfg.steps)
    loader = torch.utils.data.DataLoader(clips, batch_size=cfg.batch_size, drop_last=True, shuffle=True)
    if cfg.stage == "distill":
        teacher = copy.deepcopy(source.dit).float().eval().requires_grad_(False)
        student, optimizer, loader, teacher = accelerator.prepare(student, optimizer, loader, teacher)
        disc = disc_optimizer = None
    else:
        disc = ClipDiscriminator(source.dit, cfg.disc_depth)
        disc_optimizer = torch.optim.AdamW(disc.parameters(), lr=cfg.disc_lr, betas=(0.0, 0.99), weight_decay=0.0)
        student, optimizer, loader, disc, disc_optimizer = accelerator.prepare(student, optimizer, loader, disc,
                                                                               disc_optimizer)
    counter = restore(accelerator, latest_checkpoint(out), scheduler, ema)
    ema.to(accelerator.device)
    accelerator.init_trackers("train_one_pass", config={k: v if isinstance(v, (int, float, str, bool)) else
                                                        json.dumps(v) for k, v in asdict(cfg).items()})

    bar = tqdm(total=cfg.steps, initial=counter.step, desc=f"train-one-pass ({cfg.stage})", unit="step",
               disable=not accelerator.is_local_main_process)
    student.train()
    start, batches = time.perf_counter(), endless_batches(accelerator, loader, counter.step)
    while counter.step < cfg.steps:
        z, actions = next(batches)
        if disc is None:
            loss, logs = distill_loss(student, teacher, z, actions)
            update(accelerator, student, optimizer, loss)
        else:
            logs = adversarial_step(accelerator, student, disc, optimizer, disc_optimizer, z, actions, cfg)
        scheduler.step()
        ema.step(accelerator.unwrap_model(student).parameters())
        counter.step += 1
        bar.update(1)
        if counter.step % cfg.log_every == 0:
            logs.update(lr=scheduler.get_last_lr()[0], s_per_step=(time.perf_counter() - start) / cfg.log_every)
            accelerator.log({f"train/{k}": v for k, v in logs.items()}, step=counter.step)
            bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if k.startswith("loss")})
            start = time.perf_counter()
        done = counter.step == cfg.steps
        if counter.step % cfg.checkpoint_every == 0 or done:
            save_checkpoint(accelerator, out, counter)
            if accelerator.is_main_process:
                export(accelerator.unwrap_model(student), ema, source, out / "model")
        if accelerator.is_main_process and (counter.step % cfg.sample_every == 0 or done):
            sample_video(accelerator, WorldModel.load(out / "model"), clips, cfg.sample_frames, counter.step, out)
    bar.close()
    accelerator.end_training()
    return accelerator.unwrap_model(student)


def adversarial_step(accelerator, student, disc, optimizer, disc_optimizer, z, actions, cfg) -> dict:
    """One generator update, then one discriminator update, on the same made clips."""
    p = cfg.prompt_frames
    judged = slice(p, None)
    noise = torch.randn_like(z)
    rolled = own_rollout(student, z, actions, noise, p)
    frames = one_pass_frames(student, noise, frames_before(rolled), actions)  # rolled again, now with gradients
    made = torch.cat([z[:, :p], frames[:, p:]], dim=1)

    disc.requires_grad_(False)
    adversarial = generator_loss(disc, z, made, actions, judged, cfg.disc_noise_max)
    regression = F.mse_loss(frames[:, 1:p], z[:, 1:p])  # teacher-forced: the prompt's frames before are real
    layout = F.mse_loss(coarse(frames[:, p:]), coarse(z[:, p:]))  # student-forced: where things are, not detail
    update(accelerator, student, optimizer,
           adversarial + cfg.regression_weight * regression + cfg.layout_weight * layout)
    disc.requires_grad_(True)
    disc_loss, logs = discriminator_loss(disc, z, made, actions, judged, cfg.disc_noise_max, cfg.r1_weight)
    update(accelerator, disc, disc_optimizer, disc_loss)
    return {"loss_generator": adversarial.item(), "loss_regression": regression.item(), "loss_layout": layout.item(),
            **logs}


def coarse(z: torch.Tensor, cell: int = 4) -> torch.Tensor:
    """Latents (B, T, C, h, w) averaged over cells of ``cell`` x ``cell`` (32 x 32 pixels of a 128 x 128 frame)."""
    b, t = z.shape[:2]
    return F.avg_pool2d(z.flatten(0, 1), cell).unflatten(0, (b, t))


def export(model: WorldDiT, ema, source: WorldModel, path: Path) -> None:
    """The EMA weights with ``source``'s VAE, as a playable one-pass model folder."""
    WorldModel(source.vae, ema_weights(model, ema), dataclasses.replace(source.info, sampler="one_pass")).save(path)
