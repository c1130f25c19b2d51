"""``wm-video average``: a model whose DiT weights lie between two trained models' (a weight-space average).

Fine-tuning the DiT longer made short horizons better and long rollouts drift; the mean of a
1,300-step fine-tune and the weights it started from kept half of the gain and, within the noise of
eight rollouts, none of the drift, much as WiSE-FT found for fine-tuned image classifiers, though
the mean of a fine-tune twice as long drifted again (docs/experiments.md). Only two stages of one
model's training are worth mixing: the two must share the DiT's shape and the VAE.
"""

from __future__ import annotations

from pathlib import Path

import torch

from wm_video.errors import UserError
from wm_video.world_model import WorldModel


def average(a: str | Path, b: str | Path, out: str | Path, weight: float = 0.5) -> Path:
    """Save ``(1 - weight) * A + weight * B`` (DiT weights; A's VAE and latent scaling) to ``out``."""
    if not 0 <= weight <= 1:
        raise UserError(f"--weight must be in [0, 1], got {weight}")
    first, second = WorldModel.load(a), WorldModel.load(b)
    if _shape(first) != _shape(second):
        raise UserError(f"{b}: its DiT is not shaped as {a}'s; only one model's weights can be averaged")
    vae_a, vae_b = first.vae.state_dict(), second.vae.state_dict()
    if any(not torch.equal(vae_a[k].float(), vae_b[k].float()) for k in vae_a):
        raise UserError(f"{b}: its VAE differs from {a}'s, so its DiT works on other latents")
    with torch.no_grad():
        for p, q in zip(first.dit.parameters(), second.dit.parameters(), strict=True):
            p.copy_(torch.lerp(p.float(), q.float(), weight))
    first.save(out)
    return Path(out)


def _shape(model: WorldModel) -> dict:
    """The DiT's config without diffusers' bookkeeping (``_name_or_path``, ...)."""
    return {k: v for k, v in model.dit.config.items() if not k.startswith("_")}
