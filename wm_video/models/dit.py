"""WorldDiT: an action-conditioned diffusion transformer over latent video, trained with diffusion forcing.

Read top to bottom: embedders, rotary positions, attention, the block, the model. Every
frame is cut into patches (tokens); attention is full over the tokens of a frame and of all
earlier frames (a frame-causal mask), so a frame never sees the future and the keys and values
of past frames can be cached during play. Each frame has its own noise level and action; they
drive adaLN-Zero modulation of that frame's tokens in every block. With ``token_actions`` the
action also enters each token through a map of its own, for keys whose effect is local.

Each token also takes in the same patch of the frame before it (as DIAMOND and GameNGen stack
past frames as channels): the last frame is the strongest single guess of the next, and this
makes copying it one linear map instead of an attention lookup the model has to learn.

Full attention with a frame-causal mask, rather than Oasis' factorised spatial / temporal
attention: when the camera turns, what was at one patch moves to another, and full attention
lets a token look there directly, and at 64 tokens per frame it is a small share of the FLOPs
(docs/performance.md).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

from wm_video.actions import ACTION_DIM

#################################################################################
#                      Embedding layers for noise level and action              #
#################################################################################


class NoiseLevelEmbedder(nn.Module):
    """Noise level t in [0, 1] -> vector, through sinusoidal features and an MLP (as DiT's timestep)."""

    def __init__(self, width: int, frequencies: int = 256):
        super().__init__()
        self.frequencies = frequencies
        self.mlp = nn.Sequential(nn.Linear(frequencies, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.frequencies // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        args = (t.float() * 1000.0)[..., None] * freqs
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1).to(self.mlp[0].weight.dtype))


class ActionEmbedder(nn.Module):
    """The 25-dim action -> vector; a learned "unknown action" vector replaces dropped actions."""

    def __init__(self, action_dim: int, width: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(action_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.unknown = nn.Parameter(torch.zeros(width))

    def forward(self, actions: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.mlp(actions.to(self.mlp[0].weight.dtype))
        if drop is not None:
            emb = torch.where(drop[..., None], self.unknown.to(emb.dtype), emb)
        return emb


#################################################################################
#                            Rotary positions (time, y, x)                      #
#################################################################################


def rope_angles(frames: torch.Tensor, grid: tuple[int, int], head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin, (len(frames) * h * w, head_dim / 2), for tokens of the given frame indices.

    The head dimension is split in three: a quarter rotates with time, the rest with y and x.
    Positions are absolute frame numbers, so keys cached in play keep their meaning.
    """
    h, w = grid
    dt = head_dim // 4 // 2 * 2
    ds = (head_dim - dt) // 2 // 2 * 2
    device = frames.device

    def angles(pos: torch.Tensor, dim: int) -> torch.Tensor:
        inv = 1.0 / (10000 ** (torch.arange(0, dim, 2, device=device).float() / dim))
        return pos.float()[:, None] * inv  # (L, dim / 2)

    tt, yy, xx = torch.meshgrid(frames.to(device), torch.arange(h, device=device), torch.arange(w, device=device),
                                indexing="ij")
    a = torch.cat([angles(tt.flatten(), dt), angles(yy.flatten(), ds), angles(xx.flatten(), ds)], dim=-1)
    return a.cos(), a.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of features of x (B, heads, L, head_dim) by the angles for its L positions."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


#################################################################################
#                                Attention and block                            #
#################################################################################


class Past(NamedTuple):
    """Keys and values of earlier frames that a pass of one or two new frames attends to
    (kept by ``wm_video.rollout.KVCache``); tensors only, so a compiled model never specialises."""

    keys: torch.Tensor  # (depth, B, heads, L_past, head_dim), RoPE already applied
    values: torch.Tensor  # (depth, B, heads, L_past, head_dim)
    bias: torch.Tensor  # (2 * N, L_past) additive: -inf hides a past frame from new frame 0 or 1
    cos: torch.Tensor  # (2 * N, head_dim / 2): RoPE angles of the two new frames' tokens
    sin: torch.Tensor
    before: torch.Tensor  # (B, 1, C, h, w): the frame before the first new frame


def token_mask(frame_mask: torch.Tensor, n: int) -> torch.Tensor:
    """(T, T) "frame i may see frame j" -> (T * n, T * n) for the frames' n tokens each."""
    return frame_mask.repeat_interleave(n, dim=0).repeat_interleave(n, dim=1)


QUERY_FRAMES_PER_CALL = 4  # 2 and 8 were slower on the default training clips (docs/performance.md)


def masked_attention(q, k, v, frame_mask: torch.Tensor | None) -> torch.Tensor:
    """Attention of q, k, v (B, heads, T * n, head_dim) where frame i's tokens see frame j's if frame_mask[i, j].

    ``frame_mask`` is lower-triangular: a frame sees only itself and frames laid out before it.
    That hides half the query-key pairs or more, and the CPU flash-attention kernel computes every
    pair before masking. So queries go a few frames at a time, against the keys up to their last
    frame only: the same result, fewer pairs computed. The slices depend on shapes alone, so
    torch.compile traces it whole.
    """
    if frame_mask is None:
        return F.scaled_dot_product_attention(q, k, v)
    t = frame_mask.shape[0]
    n = q.shape[2] // t
    outs = []
    for start in range(0, t, QUERY_FRAMES_PER_CALL):
        end = min(start + QUERY_FRAMES_PER_CALL, t)
        outs.append(F.scaled_dot_product_attention(q[:, :, start * n:end * n], k[:, :, :end * n], v[:, :, :end * n],
                                                   attn_mask=token_mask(frame_mask[start:end, :end], n)))
    return torch.cat(outs, dim=2)


class Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, cos, sin, frame_mask, past: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None):
        """x (B, L, D), the tokens of T frames; ``frame_mask`` (T, T) bool (frame i may see frame j) or
        None. ``past``: cached keys and values (B, heads, L_past, head_dim) and an additive bias
        (L, L_past) that hides some of them, attended to besides x's own keys.

        Returns the output and this call's own keys and values (for the cache).
        """
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past is None:
            out = masked_attention(q, k, v, frame_mask)
        else:
            # Softmax over past and own keys together, without copying the cache into one tensor; on CPUs
            # plain matmuls beat the fused attention kernel here (benchmarks/bench_rollout.py).
            past_k, past_v, bias = past
            q = q * (q.shape[-1] ** -0.5)
            own = q @ k.transpose(-2, -1)
            if frame_mask is not None:
                own = own.masked_fill(~token_mask(frame_mask, n // frame_mask.shape[0]), float("-inf"))
            scores = torch.cat([q @ past_k.transpose(-2, -1) + bias, own], dim=-1)
            p = scores.softmax(dim=-1)
            split = past_k.shape[2]
            out = p[..., :split] @ past_v + p[..., split:] @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, d)), (k, v)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (B, T, N, D) with per-frame shift and scale (B, T, D)."""
    return x * (1 + scale[:, :, None]) + shift[:, :, None]


class DiTBlock(nn.Module):
    """Attention and MLP, each modulated per frame by adaLN-Zero (starts as the identity)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def forward(self, x, c, cos, sin, frame_mask, past=None):
        """x (B, T, N, D); c (B, T, D) per-frame conditioning."""
        b, t, n, d = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(c).chunk(6, dim=-1)
        h, kv = self.attn(modulate(self.norm1(x), shift1, scale1).reshape(b, t * n, d), cos, sin, frame_mask, past)
        x = x + gate1[:, :, None] * h.view(b, t, n, d)
        x = x + gate2[:, :, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))
        return x, kv


class FinalLayer(nn.Module):
    def __init__(self, width: int, out_features: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(width, out_features)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x), shift, scale))


#################################################################################
#                                   The model                                   #
#################################################################################


class WorldDiT(ModelMixin, ConfigMixin):
    """Predicts the flow-matching velocity of every frame of a latent clip, given actions and noise levels.

    Args:
        latent_channels, latent_size: the VAE's latent grid (C, (h, w)) for one frame.
        patch_size: side of the square patch of latent cells that makes one token.
        width, depth, heads, mlp_ratio: transformer size.
        action_dim: width of the action vector (25: wm_video.actions).
        max_frames: the longest clip (context + new frames) it is trained and played on.
        token_actions: also add to every token an embedding of the action learned for its place in
            the frame, so that a key can act on one spot (a number key lights one hotbar slot);
            adaLN's per-frame scale and shift acts on the whole frame alike.
    """

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 16,
        latent_size: tuple[int, int] = (16, 16),
        patch_size: int = 2,
        width: int = 384,
        depth: int = 6,
        heads: int = 6,
        mlp_ratio: float = 4.0,
        action_dim: int = ACTION_DIM,
        max_frames: int = 16,
        token_actions: bool = False,
    ):
        super().__init__()
        h, w = latent_size
        if h % patch_size or w % patch_size:
            raise ValueError(f"latent_size {tuple(latent_size)} is not divisible by patch_size {patch_size}")
        if width % heads or (width // heads) % 8:
            raise ValueError(f"width {width} must split into {heads} heads of a multiple of 8 features")
        self.grid = (h // patch_size, w // patch_size)
        self.tokens_per_frame = self.grid[0] * self.grid[1]
        patch_features = latent_channels * patch_size * patch_size

        self.patch_embed = nn.Linear(2 * patch_features, width)  # a frame's patch and the frame before's
        self.noise_embed = NoiseLevelEmbedder(width)
        self.action_embed = ActionEmbedder(action_dim, width)
        if token_actions:
            self.token_action_embed = nn.Linear(action_dim, self.tokens_per_frame * width, bias=False)
        self.blocks = nn.ModuleList([DiTBlock(width, heads, mlp_ratio) for _ in range(depth)])
        self.final = FinalLayer(width, patch_features)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        def basic(module: nn.Module) -> None:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

        self.apply(basic)
        nn.init.normal_(self.noise_embed.mlp[0].weight, std=0.02)
        nn.init.normal_(self.noise_embed.mlp[2].weight, std=0.02)
        # adaLN-Zero: every block starts as the identity, and the output as zero.
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final.linear.weight)
        nn.init.zeros_(self.final.linear.bias)
        if self.config.token_actions:  # zero: a model given them starts as it was (--init)
            nn.init.zeros_(self.token_action_embed.weight)

    # -- tokens <-> latents ------------------------------------------------------------------
    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> (B, T, N, C * p * p)."""
        b, t, c, h, w = x.shape
        p = self.config.patch_size
        x = x.reshape(b, t, c, h // p, p, w // p, p).permute(0, 1, 3, 5, 2, 4, 6)
        return x.reshape(b, t, (h // p) * (w // p), c * p * p)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, N, C * p * p) -> (B, T, C, H, W)."""
        b, t = x.shape[:2]
        p, c = self.config.patch_size, self.config.latent_channels
        gh, gw = self.grid
        x = x.reshape(b, t, gh, gw, c, p, p).permute(0, 1, 4, 2, 5, 3, 6)
        return x.reshape(b, t, c, gh * p, gw * p)

    def check_inputs(self, x: torch.Tensor, t: torch.Tensor, actions: torch.Tensor) -> None:
        c, (h, w) = self.config.latent_channels, self.config.latent_size
        if x.ndim != 5 or tuple(x.shape[2:]) != (c, h, w):
            raise ValueError(f"latents must be (B, T, {c}, {h}, {w}), got {tuple(x.shape)}")
        if tuple(t.shape) != tuple(x.shape[:2]):
            raise ValueError(f"noise levels must be (B, T) = {tuple(x.shape[:2])}, got {tuple(t.shape)}")
        if tuple(actions.shape) != (*x.shape[:2], self.config.action_dim):
            raise ValueError(f"actions must be (B, T, {self.config.action_dim}), got {tuple(actions.shape)}")

    def previous_frames(self, x: torch.Tensor, positions: torch.Tensor, frame_mask: torch.Tensor | None
                        ) -> torch.Tensor:
        """For each frame of x (B, T, C, H, W), the frame it sees at the position before its own (zeros if none)."""
        if frame_mask is None:
            return torch.zeros_like(x)
        positions = positions.to(frame_mask.device)
        before = frame_mask & (positions[None, :] == positions[:, None] - 1)  # (T, T)
        index = torch.where(before.any(dim=1), before.int().argmax(dim=1) + 1, 0)
        return torch.cat([torch.zeros_like(x[:, :1]), x], dim=1)[:, index]

    # -- forward -------------------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        actions: torch.Tensor,
        drop_actions: torch.Tensor | None = None,
        past: Past | None = None,
        positions: torch.Tensor | None = None,
        frame_mask: torch.Tensor | None = None,
        before: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Velocity for latents x (B, T, C, H, W) at noise levels t (B, T) under actions (B, T, 25).

        ``drop_actions`` (B, T) bool replaces those frames' actions by "unknown" (training's action
        dropout). With ``past``, x is the one frame that follows the past frames (or it and the next),
        and the result is ``(velocity, kv)``: per block, the keys and values (B, heads, T * N, head_dim)
        of x's tokens, for the cache to keep. ``positions`` (T,) frame numbers and ``frame_mask`` (T, T)
        bool (frame i may see frame j, lower-triangular) replace the defaults 0..T-1 and frame-causal:
        teacher-forced training lays a clip out twice. ``before`` (B, T, C, H, W) gives each frame the
        frame before it explicitly: a one-pass model's input is noise, so the frame it follows is not in x.
        """
        v, _, kv = self.velocity_and_features(x, t, actions, drop_actions, past, positions, frame_mask, before)
        return v if past is None else (v, kv)

    def velocity_and_features(self, x, t, actions, drop_actions=None, past=None, positions=None, frame_mask=None,
                              before=None) -> tuple[torch.Tensor | None, torch.Tensor, list]:
        """``forward``'s work: (velocity, the last block's tokens (B, T, N, D), kv). A model whose ``final``
        layer was removed (a discriminator's trunk) returns no velocity."""
        self.check_inputs(x, t, actions)
        b, frames = x.shape[:2]
        if past is not None and (frames > 2 or positions is not None or frame_mask is not None or before is not None):
            raise ValueError("with past keys and values the model takes one or two new frames, at their positions")
        if frame_mask is not None and not torch.compiler.is_compiling() and frame_mask.triu(1).any():
            raise ValueError("frame_mask must be lower-triangular: a frame sees itself and frames laid out before it")

        # 1. tokens and per-frame conditioning
        if frame_mask is None and frames > 1:
            frame_mask = torch.ones(frames, frames, dtype=torch.bool, device=x.device).tril()
        if past is None:
            positions = (torch.arange(frames) if positions is None else positions).to(x.device)
            cos, sin = rope_angles(positions, self.grid, self.config.width // self.config.heads)
            before = self.previous_frames(x, positions, frame_mask) if before is None else before
        else:
            tokens = frames * self.tokens_per_frame
            cos, sin, bias = past.cos[:tokens], past.sin[:tokens], past.bias[:tokens]
            before = torch.cat([past.before.expand(b, -1, -1, -1, -1), x[:, :-1]], dim=1)
        h = self.patch_embed(torch.cat([self.patchify(x), self.patchify(before)], dim=-1))  # (B, T, N, D)
        c = self.noise_embed(t) + self.action_embed(actions, drop_actions)  # (B, T, D)
        if self.config.token_actions:
            known = actions if drop_actions is None else actions * ~drop_actions[..., None]
            h = h + self.token_action_embed(known.to(h.dtype)).view(h.shape)

        # 2. blocks
        kv = []
        for i, block in enumerate(self.blocks):
            h, kv_i = block(h, c, cos, sin, frame_mask, None if past is None else (past.keys[i], past.values[i], bias))
            kv.append(kv_i)

        # 3. back to latents
        v = self.unpatchify(self.final(h, c)) if hasattr(self, "final") else None  # (B, T, C, H, W)
        return v, h, kv
