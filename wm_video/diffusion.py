"""Flow-matching schedule math as pure functions, with a noise level per frame (diffusion forcing).

A frame's noise level ``t`` runs from 0 (clean latent ``z``) to 1 (pure noise ``e``):
``x_t = (1 - t) z + t e``, and the model predicts the velocity ``v = e - z``. Sampling walks
``t`` from 1 to 0 with Euler steps. Each frame carries its own ``t``, so one call can denoise
the newest frame while the context frames sit at a small "stabilising" level.

diffusers' ``FlowMatchEulerDiscreteScheduler`` does the same Euler step but keeps one step
index for the whole batch; diffusion forcing needs a level per frame, hence these few
stateless functions.
"""

from __future__ import annotations

import torch


def add_noise(z: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``x_t`` for latents (B, T, C, H, W) at per-frame levels ``t`` (B, T)."""
    t = t[..., None, None, None]
    return (1 - t) * z + t * noise


def velocity_target(z: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    return noise - z


def euler_step(x: torch.Tensor, v: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor) -> torch.Tensor:
    """Move ``x`` from level ``t`` to ``t_next`` along the predicted velocity (levels shaped (B, T))."""
    return x + (t_next - t)[..., None, None, None] * v


def predicted_clean(x: torch.Tensor, v: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return x - t[..., None, None, None] * v


def shifted(t: torch.Tensor, shift: float) -> torch.Tensor:
    """SD3's shift of noise levels: ``shift`` > 1 moves them towards pure noise, keeping 0 and 1."""
    return shift * t / (1 + (shift - 1) * t)


def sampling_levels(steps: int, shift: float = 1.0) -> torch.Tensor:
    """``steps + 1`` levels from 1 down to 0. ``shift`` > 1 spends more steps at high noise."""
    return shifted(torch.linspace(1.0, 0.0, steps + 1), shift)


def training_levels(shape: tuple[int, ...], shift: float = 1.0, generator: torch.Generator | None = None
                    ) -> torch.Tensor:
    """Levels drawn logit-normally (SD3), then shifted as the sampler shifts its levels, so that training
    sees most often the levels play denoises at (unshifted, a level above 0.86, where a 3-step shift-3
    sampler takes its first step and lays out the frame, is drawn 4% of the time; shifted, 24%)."""
    return shifted(torch.sigmoid(torch.randn(shape, generator=generator)), shift)
