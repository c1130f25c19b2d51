"""``wm-video eval-vae``: reconstruction quality and speed of a VAE on held-out episodes."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from data_tools.dataset import DatasetError, atomic_write, episode_indices, read_episode, read_info
from wm_video.inference import fast_inference
from wm_video.metrics import gaussian_blur, psnr, ssim
from wm_video.models.storage import load_model
from wm_video.models.vae import FrameVAE, frames_to_input, output_to_frames
from wm_video.precision import compute_precision


def sample_frames(root: str | Path, max_frames: int) -> np.ndarray:
    """Up to ``max_frames`` frames spread evenly over every episode."""
    indices = episode_indices(root)
    if not indices:
        raise DatasetError(f"{root}: holds no episodes")
    per_episode = max(1, max_frames // len(indices))
    frames = []
    for k in indices:
        ep = read_episode(root, k).frames
        frames.append(ep[np.linspace(0, len(ep) - 1, min(per_episode, len(ep))).astype(int)])
    return np.concatenate(frames)[:max_frames]


@torch.inference_mode()
def reconstruct(vae: FrameVAE, frames: np.ndarray, decoder=None, batch: int = 32) -> np.ndarray:
    decode = decoder or vae.decode
    out = []
    for i in range(0, len(frames), batch):
        z = vae.encode(frames_to_input(torch.from_numpy(frames[i:i + batch]))).mode()
        out.append(output_to_frames(decode(z)).numpy())
    return np.concatenate(out)


def _to01(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255


def quality(frames: np.ndarray, recon: np.ndarray) -> tuple[float, float]:
    x, y = _to01(frames), _to01(recon)
    return float(psnr(y, x).mean()), float(ssim(y, x).mean())


WIDEST_BLUR = 8.0  # px: blur_equivalent's search range ends here


def blur_equivalent(frames: np.ndarray, target_psnr: float) -> float | None:
    """The Gaussian blur (sigma in pixels) of the real frames that reads ``target_psnr``: a reconstruction's
    PSNR in a unit one can picture; None when even a ``WIDEST_BLUR``-pixel blur reads better. The game's texel
    speckle makes even slight blur costly."""
    real = _to01(frames)

    def reads(sigma: float) -> float:
        return float(psnr(_to01(gaussian_blur(frames, sigma)), real).mean())

    if reads(WIDEST_BLUR) > target_psnr:
        return None
    lo, hi = 0.05, WIDEST_BLUR  # PSNR falls as sigma grows: bisect
    for _ in range(16):
        sigma = (lo + hi) / 2
        lo, hi = (sigma, hi) if reads(sigma) > target_psnr else (lo, sigma)
    return (lo + hi) / 2


def side_by_side(frames: np.ndarray, recon: np.ndarray, rows: int = 4, scale: int = 2) -> np.ndarray:
    """Rows of original | reconstruction | error (absolute difference, x4)."""
    pick = np.linspace(0, len(frames) - 1, rows).astype(int)
    lines = []
    for i in pick:
        error = np.clip(np.abs(frames[i].astype(int) - recon[i].astype(int)) * 4, 0, 255).astype(np.uint8)
        lines.append(np.concatenate([frames[i], recon[i], error], axis=1))
    grid = np.concatenate(lines, axis=0)
    return cv2.resize(grid, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)


def time_ms(fn, *args, repeats: int = 30) -> float:
    fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def decode_speed(vae: FrameVAE, play_decoder) -> dict:
    """Median ms to decode one frame: the plain float32 module, and the path that play uses."""
    z = torch.randn(1, *vae.latent_shape)
    with torch.inference_mode():
        return {"decode_ms_fp32": time_ms(vae.decode, z), "decode_ms_play": time_ms(play_decoder, z)}


def encode_speed(vae: FrameVAE, batch: int = 32) -> float:
    x = torch.rand(batch, 3, *vae.config.image_size) * 2 - 1
    with torch.inference_mode():
        return batch / (time_ms(vae.encode, x, repeats=5) / 1000)


def evaluate_vae(vae_path: str | Path, data: str | Path, out: str | Path, max_frames: int = 512) -> dict:
    vae = load_model(FrameVAE, vae_path)
    info = read_info(data)
    h, w = vae.config.image_size
    if (info.height, info.width) != (h, w):
        raise DatasetError(f"{data}: frames are {info.width}x{info.height}, but the VAE at {vae_path} takes {w}x{h}")
    frames = sample_frames(data, max_frames)
    recon = reconstruct(vae, frames)
    p, s = quality(frames, recon)
    precision = compute_precision("cpu")
    play_decoder = fast_inference(vae.decoder, precision.dtype)  # the dtype and layout play decodes in
    p_play, s_play = quality(frames, reconstruct(vae, frames, decoder=play_decoder))
    c, lh, lw = vae.latent_shape
    report = {
        "vae": str(vae_path), "data": str(data), "frames": len(frames),
        "psnr": p, "ssim": s, "compute": precision.name, "psnr_play_decoder": p_play, "ssim_play_decoder": s_play,
        "blur_equivalent_px": blur_equivalent(frames, p),
        **decode_speed(vae, play_decoder), "encode_frames_per_s": encode_speed(vae),
        "latent_shape": [c, lh, lw], "compression_ratio": (h * w * 3) / (c * lh * lw),
        "parameters": sum(p.numel() for p in vae.parameters()), "threads": torch.get_num_threads(),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    image = side_by_side(frames, recon)
    tmp = out / ".sidebyside.partial.png"
    cv2.imwrite(str(tmp), image[..., ::-1])
    tmp.replace(out / "sidebyside.png")
    atomic_write(out / "report.json", json.dumps(report, indent=2))
    return report


def format_report(report: dict) -> str:
    return "\n".join([
        f"VAE {report['vae']} on {report['frames']} held-out frames of {report['data']}",
        f"  PSNR {report['psnr']:.2f} dB   SSIM {report['ssim']:.4f}   "
        f"(play's {report['compute']} decoder: {report['psnr_play_decoder']:.2f} dB, "
        f"{report['ssim_play_decoder']:.4f})",
        (f"  as sharp as the real frames under a Gaussian blur of sigma {report['blur_equivalent_px']:.2f} px"
         if report["blur_equivalent_px"] is not None
         else f"  blurrier than the real frames under a Gaussian blur of {WIDEST_BLUR:.0f} px"),
        f"  decode {report['decode_ms_play']:.2f} ms/frame as play does ({report['compute']}, channels_last; "
        f"{report['decode_ms_fp32']:.2f} plain fp32), "
        f"encode {report['encode_frames_per_s']:.0f} frames/s, {report['threads']} threads",
        f"  latent {'x'.join(map(str, report['latent_shape']))}, compression {report['compression_ratio']:.0f}x, "
        f"{report['parameters'] / 1e6:.2f}M parameters",
    ])
