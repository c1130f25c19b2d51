"""FrameJudge: a small segmentation network that says what each pixel of a game frame shows, and the
measures built on it: world consistency (mean IoU of its labels against the game's true ones) and
realism (the Frechet distance between its pooled features of two sets of frames).

It is trained on the built-in game's own ground truth (``record --labels``, ``train-judge``); the
class names travel in its config, so this library never imports the game.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

SHIPPED = Path(__file__).parent / "pretrained" / "judge"


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(4, cout), nn.SiLU())


class FrameJudge(ModelMixin, ConfigMixin):
    """uint8 frames (B, H, W, 3) -> per-pixel class logits (B, classes, H, W); ``features`` -> (B, D).

    A small U-Net: three stride-2 levels down to 1/8 of the frame, then up with skips to 1/2, and
    logits upsampled to full size with a last look at the frame's own pixels (block edges are sharp).
    """

    @register_to_config
    def __init__(self, class_names: tuple[str, ...] = ("sky",), channels: tuple[int, ...] = (16, 32, 64, 96),
                 texture_weight: float = 10.0):
        super().__init__()
        c0, c1, c2, c3 = channels
        self.stem = _conv(3, c0, 2)  # 1/2
        self.down1 = nn.Sequential(_conv(c0, c1, 2), _conv(c1, c1))  # 1/4
        self.down2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))  # 1/8
        self.bottom = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3))  # 1/16: the pooled features
        self.up2 = _conv(c3 + c2, c2)
        self.up1 = _conv(c2 + c1, c1)
        self.up0 = _conv(c1 + c0, c0)
        self.refine = nn.Sequential(nn.Conv2d(c0 + 3, c0, 3, 1, 1), nn.SiLU(), nn.Conv2d(c0, len(class_names), 1))

    @property
    def num_classes(self) -> int:
        return len(self.config.class_names)

    @staticmethod
    def _input(frames: torch.Tensor) -> torch.Tensor:
        return frames.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)

    def _encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The first layer's filter responses (before normalisation), then each level's activations."""
        edges = self.stem[0](x)
        s0 = self.stem[1:](edges)
        s1 = self.down1(s0)
        s2 = self.down2(s1)
        return [edges, s0, s1, s2, self.bottom(s2)]

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self._input(frames)
        _, s0, s1, s2, b = self._encode(x)

        def up(low: torch.Tensor, skip: torch.Tensor, conv: nn.Module) -> torch.Tensor:
            return conv(torch.cat([F.interpolate(low, size=skip.shape[-2:], mode="nearest"), skip], 1))

        h = up(up(up(b, s2, self.up2), s1, self.up1), s0, self.up0)
        h = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.refine(torch.cat([h, x], 1))

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, D) pooled features: the deepest level's mean and spread over the frame per channel (what
        is where), and the first layer's texture energy per filter (the mean step between neighbouring
        responses), weighted ``texture_weight``: segmentation learns to see through blur, so the deep
        features alone barely tell a blurred frame from a sharp one."""
        edges, *_, b = self._encode(self._input(frames))
        texture = ((edges[..., 1:, :] - edges[..., :-1, :]).abs().mean((2, 3))
                   + (edges[..., :, 1:] - edges[..., :, :-1]).abs().mean((2, 3)))
        return torch.cat([b.mean((2, 3)), b.std((2, 3)), self.config.texture_weight * texture], 1)


def load_judge(path: str | Path | None = None) -> FrameJudge:
    """The judge at ``path`` (default: the shipped one), float32, in eval mode."""
    from .models.storage import load_model

    return load_model(FrameJudge, SHIPPED if path is None else path)


@torch.no_grad()
def predict_labels(judge: FrameJudge, frames: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, H, W) uint8 classes."""
    out = [judge(torch.from_numpy(np.ascontiguousarray(frames[i:i + batch]))).argmax(1).to(torch.uint8)
           for i in range(0, len(frames), batch)]
    return torch.cat(out).numpy() if out else np.zeros(frames.shape[:3], np.uint8)


@torch.no_grad()
def judge_features(judge: FrameJudge, frames: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, D) float64 pooled features."""
    out = [judge.features(torch.from_numpy(np.ascontiguousarray(frames[i:i + batch]))).double()
           for i in range(0, len(frames), batch)]
    return torch.cat(out).numpy()


def mean_iou(pred: np.ndarray, true: np.ndarray, num_classes: int) -> np.ndarray:
    """Per frame, the mean over classes present in either map of |pred & true| / |pred | true|.

    ``pred``, ``true``: (N, H, W) integer class maps. Returns (N,) in 0..1.
    """
    n = len(pred)
    p = pred.reshape(n, -1).astype(np.int64)
    t = true.reshape(n, -1).astype(np.int64)
    offsets = (np.arange(n) * num_classes)[:, None]
    count = np.bincount((p + offsets).ravel(), minlength=n * num_classes).reshape(n, -1)
    truth = np.bincount((t + offsets).ravel(), minlength=n * num_classes).reshape(n, -1)
    both = np.bincount((p + offsets)[p == t], minlength=n * num_classes).reshape(n, -1)
    union = count + truth - both
    present = union > 0
    return np.where(present, both / np.maximum(union, 1), 0).sum(1) / present.sum(1)


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigen-decomposition (no scipy)."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to two sets of feature vectors (N, D), as in FID.

    tr(sqrt(Ca Cb)) is computed as tr(sqrt(sqrt(Ca) Cb sqrt(Ca))), a symmetric PSD form: sound
    where Ca Cb is not symmetric and nearly singular.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 feature vectors per set, got {len(a)} and {len(b)}")
    mu = a.mean(0) - b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = _sqrtm_psd(ca)
    cross = np.trace(_sqrtm_psd(root @ cb @ root))
    return float(max(0.0, mu @ mu + np.trace(ca) + np.trace(cb) - 2 * cross))
