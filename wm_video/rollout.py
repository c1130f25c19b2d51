"""The autoregressive rollout engine: prompt frames and a stream of actions in, one frame out per step.

Per new frame: start from noise and take ``steps`` Euler steps in which only the new frame's
tokens are computed (the past frames' keys and values come from the KV cache). A finished
frame's own keys and values, at the small context noise level, are computed in the first step
of the next frame, in the same pass (a pass over two frames costs far less than two passes).
The cache keeps the last ``window - 1`` frames, so memory stays bounded however long the session.

A one-pass model (``model.json``'s sampler ``one_pass``, trained by ``wm-video train-one-pass``)
makes each frame in a single pass over its own tokens: pure noise, with the frame before it
beside each patch, at level 1. The cache keeps the keys and values of that pass, so a finished
frame needs no pass of its own: its content reaches the next frames through that frame's pass.

``reference=True`` instead recomputes the whole window at every denoising step, as the Oasis
sample loop does: slower by about the window length, and kept only to check the cache and to
measure the speed-up. Both modes see the same inputs and give the same frames until the window
is full; after that a cached frame keeps keys computed while it could still see frames that
have since left the window, so the two differ by about the precision of the compute dtype.

Action convention: ``step(action)`` takes the action pressed while the latest frame is on
screen and returns the frame that follows it; inside the model each frame is conditioned on
the action that produced it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .actions import ACTION_DIM
from .diffusion import add_noise, euler_step, predicted_clean, sampling_levels
from .inference import cast, compiled, fast_inference
from .models.dit import Past, WorldDiT, rope_angles
from .precision import compute_precision
from .world_model import WorldModel


@dataclass
class RolloutConfig:
    # Defaults chosen on held-out seeds with the shipped model (docs/performance.md): fewer steps with a
    # shift, a little context noise for steadier long rollouts, and a 10-frame window as good as 16.
    steps: int = 3  # denoising steps per frame
    shift: float = 3.0  # > 1 spends more of the steps at high noise
    context_noise: float = 0.15  # level the context frames are noised to and labelled with
    window: int | None = None  # frames of context incl. the new one; default: 10, or max_frames if fewer
    seed: int = 0


class KVCache:
    """Keys and values of the last ``window - 1`` frames, per block, in a fixed set of frame slots: what play reuses.

    A pass of the model against ``past()`` takes the frame that follows the cached ones, or that
    frame and the one after it (play finishes a frame in the same pass that starts the next), and
    returns the keys and values of its frames; ``commit`` stores the first frame's in the slot of
    a frame that neither of the next pass's frames sees any longer.

    Attention is a sum over keys, so slot order does not matter: the frames' RoPE angles (absolute
    frame numbers) are baked into the cached keys. Shapes never change after ``__init__``: a
    compiled model never recompiles, memory is bounded.
    """

    def __init__(self, model: WorldDiT, window: int, batch: int = 1):
        cfg, n = model.config, model.tokens_per_frame
        head_dim = cfg.width // cfg.heads
        dtype, device = next(model.parameters()).dtype, next(model.parameters()).device
        self.window = window
        # The last window - 1 frames: the next pass carries the two frames after them.
        shape = (cfg.depth, batch, cfg.heads, (window - 1) * n, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros_like(self.keys)
        self.tokens_per_frame, self.head_dim = n, head_dim
        self.grid = model.grid
        self.held = [-1] * (window - 1)  # the frame number in each slot; -1: empty
        self.frame = 0  # the absolute index of the next frame
        # The latest committed frame's latent input: the "frame before" of the next pass's first frame.
        self.last = torch.zeros(batch, 1, cfg.latent_channels, *cfg.latent_size, dtype=dtype, device=device)
        self._update()

    @property
    def frames(self) -> int:
        """How many past frames the next frame sees."""
        return sum(self.sees(self.frame, g) for g in self.held)

    def sees(self, frame: int, past: int) -> bool:
        """Whether ``frame`` sees the earlier frame ``past`` (-1: an empty slot): one of the last ``window - 1``."""
        return past >= 0 and 0 < frame - past < self.window

    def past(self) -> Past:
        """What the model's next pass reads."""
        return Past(self.keys, self.values, self.bias, self.cos, self.sin, self.last)

    def commit(self, kv: list[tuple[torch.Tensor, torch.Tensor]], latents: torch.Tensor) -> None:
        """Store the first frame of a pass against ``past()``, from its keys and values ``kv`` (per block)
        and its latent input ``latents`` (B, T, C, h, w), over a frame the next frame no longer sees."""
        frame, self.frame = self.frame, self.frame + 1
        slot = next(i for i, g in enumerate(self.held) if not self.sees(self.frame, g))  # the window moved by one
        n = self.tokens_per_frame
        span = slice(slot * n, (slot + 1) * n)
        for i, (k, v) in enumerate(kv):
            self.keys[i, :, :, span] = k[:, :, :n]
            self.values[i, :, :, span] = v[:, :, :n]
        self.held[slot] = frame
        self.last.copy_(latents[:, :1])
        self._update()

    def _update(self) -> None:
        # What the model reads is kept in tensors, so that a compiled model never specialises on a
        # slot or frame number. Row j of ``bias`` is for new frame self.frame + j: it hides the
        # slots that frame does not see.
        hidden = [[not self.sees(self.frame + j, g) for g in self.held] for j in (0, 1)]
        bias = torch.zeros(2, len(self.held), dtype=self.keys.dtype).masked_fill(torch.tensor(hidden), float("-inf"))
        n, device = self.tokens_per_frame, self.keys.device
        self.bias = bias.repeat_interleave(n, dim=0).repeat_interleave(n, dim=1).to(device)  # (2 * N, slots * N)
        self.cos, self.sin = rope_angles(torch.tensor([self.frame, self.frame + 1], device=device), self.grid,
                                         self.head_dim)


class Rollout:
    """Latent-level engine: ``reset(latents, actions)``, then ``step(action) -> latent``."""

    def __init__(self, model: WorldDiT, config: RolloutConfig | None = None, reference: bool = False,
                 one_pass: bool = False):
        if reference and one_pass:
            raise ValueError("reference mode recomputes the window with the Euler sampler; a one-pass model has none")
        self.model, self.reference, self.one_pass = model, reference, one_pass
        self.config = config or RolloutConfig()
        self.window = self.config.window or min(10, model.config.max_frames)
        if not 2 <= self.window <= model.config.max_frames:
            raise ValueError(f"window must be 2..{model.config.max_frames} (the model's max_frames), got {self.window}")
        self.levels = sampling_levels(self.config.steps, self.config.shift).tolist()
        self.dtype = next(model.parameters()).dtype
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.cache: KVCache | None = None
        self.finished: tuple | None = None  # (noised latent, its level, its action): not yet in the cache
        self.context: torch.Tensor | None = None  # reference mode: noised context latents (1, T, C, h, w)
        self.context_actions: torch.Tensor | None = None

    @torch.inference_mode()
    def reset(self, latents: torch.Tensor, actions: torch.Tensor) -> None:
        """Start from prompt latents (T, C, h, w), already scaled, and the actions pressed on each (T, 25)."""
        if latents.ndim != 4 or actions.shape != (latents.shape[0], ACTION_DIM):
            raise ValueError(f"prompt needs latents (T, C, h, w) and actions (T, {ACTION_DIM}); got "
                             f"{tuple(latents.shape)} and {tuple(actions.shape)}")
        producing = torch.cat([torch.zeros(1, ACTION_DIM), actions[:-1].float()])  # frame i came from action i-1
        keep = self.window - 1  # what the cache holds
        self.generator.manual_seed(self.config.seed)
        self.context, self.context_actions, self.finished = None, None, None
        self.cache = None if self.reference else KVCache(self.model, self.window)
        if self.one_pass:  # each prompt frame's pass, its result replaced by the real frame
            for i in range(max(0, len(latents) - keep), len(latents)):
                self._one_pass(producing[i][None, None].to(self.dtype), latents[i][None, None].to(self.dtype))
            return
        for i in range(max(0, len(latents) - keep), len(latents)):
            if self.finished is not None:
                _, kv = self.model(*self.finished, past=self.cache.past())
                self.cache.commit(kv, self.finished[0])
            self._remember(latents[i][None, None], producing[i][None, None])

    @torch.inference_mode()
    def step(self, action: torch.Tensor) -> torch.Tensor:
        """Generate the frame that follows the current one under ``action`` (25,); returns (C, h, w) float32."""
        if self.cache is None and self.context is None:
            raise RuntimeError("call reset() with prompt latents first")
        a = torch.as_tensor(action).reshape(1, 1, ACTION_DIM).to(self.dtype)
        if self.one_pass:
            return self._one_pass(a)[0, 0].float()
        x = self._noise()
        for i, (t, t_next) in enumerate(zip(self.levels[:-1], self.levels[1:], strict=True)):
            if self.reference:
                *inputs, frame_mask = self._with_context(x, self._level(t), a)
                v = self.model(*inputs, frame_mask=frame_mask)[:, -1:]
            elif i == 0:  # the frame finished last step rides along, and its keys and values enter the cache
                v, kv = self.model(*self._with_finished(x, self._level(t), a), past=self.cache.past())
                self.cache.commit(kv, self.finished[0])
                v = v[:, -1:]
            else:
                v, _ = self.model(x, self._level(t), a, past=self.cache.past())
            x = euler_step(x, v, self._level(t), self._level(t_next))
        self._remember(x, a)
        return x[0, 0].float()

    def _one_pass(self, a: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """The frame after the cache's latest under action ``a`` (1, 1, 25), in one pass whose keys and values
        the cache keeps; ``keep`` (a prompt frame) replaces the made frame as the next pass's frame before."""
        x, level = self._noise(), self._level(1.0)
        v, kv = self.model(x, level, a, past=self.cache.past())
        made = predicted_clean(x, v, level)
        self.cache.commit(kv, made if keep is None else keep)
        return made

    def _noise(self) -> torch.Tensor:
        c, (h, w) = self.model.config.latent_channels, self.model.config.latent_size
        return torch.randn(1, 1, c, h, w, generator=self.generator).to(self.dtype)

    def _level(self, t: float, frames: int = 1) -> torch.Tensor:
        return torch.full((1, frames), t, dtype=self.dtype)

    def _with_finished(self, x: torch.Tensor, t: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The new frame's inputs with the finished frame before it, not yet in the cache, laid out first."""
        latent, level, action = self.finished
        return torch.cat([latent, x], 1), torch.cat([level, t], 1), torch.cat([action, a], 1)

    def _with_context(self, x: torch.Tensor, t: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Reference mode: the new frame's inputs after the whole context, and the frame mask."""
        n = self.context.shape[1]
        frame_mask = torch.ones(n + 1, n + 1, dtype=torch.bool).tril()
        if n == self.window:  # the oldest frame has left the window; it stays only as the frame before the next
            frame_mask[2:, 0] = False
        return (torch.cat([self.context, x], 1), torch.cat([self._level(self.config.context_noise, n), t], 1),
                torch.cat([self.context_actions, a], 1), frame_mask)

    def _remember(self, latents: torch.Tensor, actions: torch.Tensor) -> None:
        """Add a finished frame (1, 1, C, h, w) to the context, noised to the context level."""
        level = self._level(self.config.context_noise, latents.shape[1])
        noise = torch.randn(latents.shape, generator=self.generator).to(self.dtype)
        noisy = add_noise(latents.to(self.dtype), noise, level)
        actions = actions.to(self.dtype)
        if self.reference:
            keep = self.window  # the window's frames and the one before the oldest (the oldest's frame before)
            self.context = noisy if self.context is None else torch.cat([self.context, noisy], 1)[:, -keep:]
            self.context_actions = (actions if self.context_actions is None
                                    else torch.cat([self.context_actions, actions], 1)[:, -keep:])
            return
        self.finished = (noisy, level, actions)


class WorldSession:
    """Pixel-level engine for play, render and eval: ``reset(frames, actions)``, ``step(action) -> frame``.

    The DiT and the VAE decoder (channels_last) run in ``dtype``, by default the machine's compute
    dtype (``wm_video.precision``: bf16 where it is native, fp32 elsewhere); ``compile=True`` adds
    torch.compile with freezing (the constructor then spends ~30 s compiling), worth it for play
    and long rollouts. Frames are uint8 (H, W, 3) numpy arrays.
    """

    def __init__(self, world: WorldModel, config: RolloutConfig | None = None, dtype: torch.dtype | None = None,
                 compile: bool = False, reference: bool = False):
        self.world = world
        self.dtype = dtype or compute_precision("cpu").dtype  # a session runs on the CPU
        dit = cast(copy.deepcopy(world.dit), self.dtype)
        if compile:
            dit = compiled(dit)
        self.decoder = fast_inference(world.vae.decoder, self.dtype, compile=compile)
        self.rollout = Rollout(dit, config, reference=reference, one_pass=world.info.sampler == "one_pass")
        if compile:  # compile now, for both pass shapes (one frame; two), not in the middle of play
            h, w = world.vae.config.image_size
            self.reset(np.zeros((2, h, w, 3), np.uint8), np.zeros((2, ACTION_DIM), np.float32))
            self.step(np.zeros(ACTION_DIM, np.float32))

    @property
    def config(self) -> RolloutConfig:
        return self.rollout.config

    def reset(self, frames: np.ndarray, actions: np.ndarray) -> None:
        """Prompt frames (T, H, W, 3) uint8 and the actions pressed on them (T, 25)."""
        h, w = self.world.vae.config.image_size
        if frames.ndim != 4 or tuple(frames.shape[1:]) != (h, w, 3):
            raise ValueError(f"prompt frames must be (T, {h}, {w}, 3) uint8 for this model, got {frames.shape}")
        latents = self.world.encode(torch.from_numpy(np.ascontiguousarray(frames)))
        self.rollout.reset(latents, torch.from_numpy(np.asarray(actions, dtype=np.float32)))

    def step(self, action: np.ndarray) -> np.ndarray:
        latent = self.rollout.step(torch.from_numpy(np.asarray(action, dtype=np.float32)))
        return self.world.decode(latent[None], decoder=self.decoder)[0].numpy()
