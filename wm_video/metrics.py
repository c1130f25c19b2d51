"""Image quality measures on frames in [0, 1], shaped (B, 3, H, W): PSNR and SSIM; and, on uint8 frames
(N, H, W, 3), sharpness and the Gaussian blur that eval's references use."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, one value per image (peak = 1)."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1)
    return -10 * torch.log10(mse.clamp_min(1e-10))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size) - size // 2) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), one value per image."""
    x, y = x.float(), y.float()
    c = x.shape[1]
    window = _gaussian_window().to(x.device).expand(c, 1, -1, -1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1)


def sharpness(frames: np.ndarray) -> np.ndarray:
    """Per frame of (N, H, W, 3) uint8: the mean brightness step between neighbouring pixels, in 0..255.
    Blur lowers it, and a blurred frame can keep a real frame's colours and contrast."""
    g = frames.astype(np.float32).mean(-1)
    return (np.abs(np.diff(g, axis=1)).mean((1, 2)) + np.abs(np.diff(g, axis=2)).mean((1, 2))) / 2


def gaussian_blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    """(N, H, W, 3) uint8 frames blurred by a Gaussian of ``sigma`` px."""
    return np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in frames])
