"""The autoregressive rollout engine: prompt latents and a stream of actions in, one latent frame out per step.

Per new frame: start from noise, take ``steps`` Euler steps in which only the new frame's
tokens are computed (the past frames' keys and values come from the KV cache), then run the
finished frame once more, at the small context noise level, to write its keys and values to
the cache. The cache keeps the last ``window - 1`` frames, so memory stays bounded however
long the session.

Action convention: ``step(action)`` takes the action pressed while the latest frame is on
screen and returns the frame that follows it; inside the model each frame is conditioned on
the action that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .actions import ACTION_DIM
from .diffusion import add_noise, euler_step, sampling_levels
from .models.dit import KVCache, WorldDiT


@dataclass
class RolloutConfig:
    steps: int = 4  # denoising steps per frame
    shift: float = 1.0  # > 1 spends more of the steps at high noise
    context_noise: float = 0.05  # level the context frames are noised to and labelled with
    window: int | None = None  # frames of context incl. the new one; default: the model's max_frames
    seed: int = 0


class Rollout:
    def __init__(self, model: WorldDiT, config: RolloutConfig | None = None):
        self.model = model
        self.config = config or RolloutConfig()
        self.window = self.config.window or model.config.max_frames
        if not 2 <= self.window <= model.config.max_frames:
            raise ValueError(f"window must be 2..{model.config.max_frames} (the model's max_frames), got {self.window}")
        self.levels = sampling_levels(self.config.steps, self.config.shift)
        self.cache = KVCache()
        self.generator = torch.Generator().manual_seed(self.config.seed)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @torch.inference_mode()
    def reset(self, latents: torch.Tensor, actions: torch.Tensor) -> None:
        """Start from prompt latents (T, C, h, w), already scaled, and the actions pressed on each (T, 25)."""
        if latents.ndim != 4 or actions.shape != (latents.shape[0], ACTION_DIM):
            raise ValueError(f"prompt needs latents (T, C, h, w) and actions (T, {ACTION_DIM}); got "
                             f"{tuple(latents.shape)} and {tuple(actions.shape)}")
        producing = torch.cat([torch.zeros(1, ACTION_DIM), actions[:-1].float()])  # frame i came from action i-1
        keep = self.window - 1
        self.generator.manual_seed(self.config.seed)
        self.cache = KVCache()
        self._write(latents[-keep:][None], producing[-keep:][None])

    @torch.inference_mode()
    def step(self, action: torch.Tensor) -> torch.Tensor:
        """Generate the frame that follows the current one under ``action`` (25,); returns (C, h, w)."""
        if self.cache.frames == 0:
            raise RuntimeError("call reset() with prompt latents first")
        c, (h, w) = self.model.config.latent_channels, self.model.config.latent_size
        a = action.reshape(1, 1, ACTION_DIM).to(self.dtype)
        x = torch.randn(1, 1, c, h, w, generator=self.generator).to(self.dtype)
        for t, t_next in zip(self.levels[:-1], self.levels[1:], strict=True):
            level = torch.full((1, 1), float(t), dtype=self.dtype)
            v = self.model(x, level, a, cache=self.cache)
            x = euler_step(x, v, level, torch.full((1, 1), float(t_next), dtype=self.dtype))
        self._write(x, a)
        return x[0, 0].float()

    def _write(self, latents: torch.Tensor, actions: torch.Tensor) -> None:
        """Add finished frames (1, T, C, h, w) to the cache at the context noise level."""
        level = torch.full(latents.shape[:2], self.config.context_noise, dtype=self.dtype)
        noise = torch.randn(latents.shape, generator=self.generator).to(self.dtype)
        noisy = add_noise(latents.to(self.dtype), noise, level)
        self.model(noisy, level, actions.to(self.dtype), cache=self.cache, write_cache=True)
        self.cache.trim(self.window - 1, self.model.tokens_per_frame)
