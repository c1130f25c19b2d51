"""``wm-video ship``: copy a trained model into the repository as the default, in bf16, with its model card.

The card records where the model came from (data and the command that recorded it, training
steps, wall time, hardware) and the ``wm-video eval`` figures that justify shipping it.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from data_tools.dataset import atomic_write
from evaluation.keys import BLOCK_JUDGED, BLOCK_KEYS
from evaluation.report import memory_margin, standard_error
from wm_video.world_model import DEFAULT_MODEL, WorldModel

MAX_BYTES = 40 * 1024 * 1024

SHIP_RULE = """## When a new model replaces this one

A new model replaces the shipped one when, evaluated on the same seeds (`wm-video eval`, then
`wm-video compare reports/default reports/new`), it is better beyond the noise `compare` reports
(B - A more than twice its standard error) on the primary scores and not worse on the guards.
Primary scores: realism distance (lower is better), world consistency at 16 and 64 frames, and
controllability. Guards: long-rollout stability (frames in the real range) and frames/s. PSNR and
SSIM stay in the report; they are no longer a veto. `compare` prints the primary scores first,
with their standard errors.
"""


def ship(model: str | Path, metrics: str | Path, history: str, dest: Path = DEFAULT_MODEL) -> Path:
    """Save ``model`` in bf16 to ``dest`` with a README model card built from ``metrics`` (metrics.json)."""
    world = WorldModel.load(model)
    report = json.loads(Path(metrics).read_text())
    world.save(dest, dtype=torch.bfloat16)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    if size > MAX_BYTES:
        raise RuntimeError(f"{dest}: {size / 2**20:.1f} MB is over the {MAX_BYTES / 2**20:.0f} MB budget")
    atomic_write(dest / "README.md", model_card(world, report, history, size))
    atomic_write(dest / "metrics.json", json.dumps(report, indent=2))
    return dest


def judged_rows(m: dict) -> list[tuple[str, str, str]]:
    """The card's rows for world consistency and realism."""
    c, r = m["consistency"], m["realism"]
    return [("world consistency (judge's IoU) at 16 / 64 frames (held last frame; real frames)",
             " / ".join(f"{c[f'iou@{h}']:.3f}" if f"iou@{h}" in c else "-" for h in (16, 64))
             + " (" + " / ".join(f"{c[f'held_iou@{h}']:.3f}" if f"held_iou@{h}" in c else "-"
                                 for h in (16, 64)) + f"; {c['real_iou']:.3f})", "towards the real frames'"),
            ("realism distance (real vs real; real blurred sigma 1)",
             f"{r['distance']:.2f} ± {r['distance_se']:.2f} ({r['real_floor']:.2f}; {r['blurred_sigma1']:.2f})",
             "towards real vs real")]


def model_card(world: WorldModel, m: dict, history: str, size: int) -> str:
    dit = world.dit
    params = sum(p.numel() for p in dit.parameters()) / 1e6
    vae_params = sum(p.numel() for p in world.vae.parameters()) / 1e6
    ar, tf, st = m["autoregressive"], m["teacher_forced"], m["stability"]
    still, sem = ar["still_psnr_by_horizon"], standard_error(ar)

    def at(h: int) -> str:
        return f"{ar[f'psnr@{h}']:.2f} ± {sem[h - 1]:.2f} dB (held: {still[h - 1]:.2f})" if h <= len(still) else "-"

    rows = [
        ("VAE reconstruction PSNR / SSIM", f"{m['vae']['psnr']:.2f} dB / {m['vae']['ssim']:.3f}", ""),
        ("teacher-forced next frame PSNR (last frame copied)",
         f"{tf['psnr']:.2f} dB ({tf['copy_last_frame_psnr']:.2f})", ">= 30 dB"),
        ("autoregressive PSNR at 16 frames (last prompt frame held)", at(16), ">= 22 dB"),
        ("autoregressive PSNR at 64 frames (last prompt frame held)", at(64), ">= 18 dB"),
        ("controllability (delta PSNR at 16)", f"{m['controllability']['delta_psnr@16']:+.2f} dB",
         ">= 3 dB"),
        ("action following (IDM, imagined / real)", f"{m['action_following']['ratio']:.0%}", ">= 80%"),
        ("number keys (2-9, one per seed): highlight moved 1 / 4 frames later",
         " / ".join(f"{m['action_following'][f'number_keys_followed@{k}']:.0%}" for k in (1, 4)), ""),
        *((f"{verb} a block ({key}, the explorer's first press per seed): followed "
           f"{' / '.join(map(str, BLOCK_JUDGED))} frames later",
           " / ".join(f"{m['action_following'][f'{verb}_followed@{k}']:.0%}" for k in BLOCK_JUDGED)
           + f" of {m['action_following'][f'{verb}_presses']}", "")
          for key, verb in BLOCK_KEYS.items()),
        (f"stability: frames in the real range, {st['rollouts']} rollouts of {st['frames']} "
         f"(first {min(256, st['frames'])} / last 100 / all)",
         f"{st['first_256_in_range']:.0%} / {st['last_window_in_range']:.0%} / {st['all_in_range']:.0%}",
         f"the real game's frames: {st['real_in_range']:.0%}"),
        ("revisiting (PSNR after a 360-degree turn)", f"{m['revisiting']['psnr_after_360']:.2f} dB"
         + (f" ({margin})" if (margin := memory_margin(m["revisiting"])) else ""), ""),
        *judged_rows(m),
        ("speed (frames/s, p90 latency)", f"{m['speed']['fps']:.1f}, {m['speed']['latency_p90_ms']:.0f} ms",
         ">= 20 fps"),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    seeds = m["config"]["seeds"]
    seeds = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))
    return f"""# wm-video default model

A world model of the built-in Minecraft-like game at {world.info.width}x{world.info.height}, {world.info.fps:g} fps.

- VAE: {vae_params:.2f}M parameters, latent {'x'.join(map(str, world.vae.latent_shape))}.
- DiT: {params:.1f}M parameters, width {dit.config.width}, depth {dit.config.depth}, {dit.tokens_per_frame} tokens
  per frame, trained on clips of up to {dit.config.max_frames} frames.
- Stored in bf16 safetensors: {size / 2**20:.1f} MB. Hardware of the figures below: {platform.processor() or
  platform.machine()}, {m['speed']['threads']} threads, computing in {m['speed']['compute']}.

## How it was made

{history}

## Measured (`wm-video eval --out reports/default`, held-out seeds {seeds})

| metric | value | target |
|---|---|---|
{table}

± is the standard error of the mean over the episodes.

{SHIP_RULE}"""
