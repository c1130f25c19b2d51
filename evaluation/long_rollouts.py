"""Long rollouts: do imagined frames stay in the real frames' range, and as sharp as them?

Frame statistics (mean colour, contrast) against the real frames' 1st-99th percentiles, per
100-frame window, averaged over a few rollouts (one wanders by chance).
"""

from __future__ import annotations

import numpy as np

from wm_video.metrics import sharpness

STATISTICS = ("mean R", "mean G", "mean B", "contrast")
WINDOW = 100  # frames a window of the report


def frame_statistics(frames: np.ndarray) -> np.ndarray:
    """Per frame: the ``STATISTICS``, mean of each colour channel and the overall contrast (std), in 0..255."""
    f = frames.reshape(len(frames), -1, 3).astype(np.float32)
    return np.concatenate([f.mean(1), f.std((1, 2))[:, None]], axis=1)


def real_range(real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 1st and 99th percentile of each statistic over real frames."""
    reference = frame_statistics(real)
    return np.percentile(reference, 1, axis=0), np.percentile(reference, 99, axis=0)


def in_range(frames: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per frame: are all its statistics inside [low, high]?"""
    st = frame_statistics(frames)
    return ((st >= low) & (st <= high)).all(axis=1)


def windows(per_frame: np.ndarray) -> list[slice]:
    return [slice(i, i + WINDOW) for i in range(0, per_frame.shape[-1], WINDOW)]


def stability(long_fake: list[np.ndarray], long_real: list[np.ndarray], low: np.ndarray, high: np.ndarray) -> dict:
    """``long_fake``: the imagined rollouts; ``long_real``: the real game's frames after the same prompts."""
    inside = np.stack([in_range(f, low, high) for f in long_fake])  # (rollouts, frames)
    # A 1st-99th percentile range on four statistics leaves some real frames out too, so the real
    # game's own share, not 100%, is what "in distribution" reads as.
    real_inside = in_range(np.concatenate(long_real), low, high)
    by_window = [inside[:, w].mean(axis=1) for w in windows(inside)]  # per window, per rollout
    every = np.concatenate([frame_statistics(f) for f in long_fake])
    because = {f"{name} {side}": float(share) for k, name in enumerate(STATISTICS)
               for side, share in (("below", (every[:, k] < low[k]).mean()), ("above", (every[:, k] > high[k]).mean()))}
    return {"frames": inside.shape[1], "rollouts": len(inside), "out_of_range_because": because,
            "in_range_share_by_100_frames": [float(w.mean()) for w in by_window],
            "in_range_by_rollout": np.round(np.stack(by_window, axis=1), 2).tolist(),
            "first_256_in_range": float(inside[:, :256].mean()),
            "last_window_in_range": float(by_window[-1].mean()), "all_in_range": float(inside.mean()),
            "real_in_range": float(real_inside.mean()),
            "statistic": "mean RGB and contrast inside the 1st-99th percentile of real frames"}


def sharpness_vs_real(long_fake: list[np.ndarray], long_real: list[np.ndarray]) -> dict:
    """The imagined rollouts' median sharpness over the real frames', overall and per window."""
    real = float(np.median(np.concatenate([sharpness(r) for r in long_real])))
    fake = np.stack([sharpness(f) for f in long_fake])  # (rollouts, frames)
    return {"sharpness_vs_real": float(np.median(fake)) / real,
            "sharpness_vs_real_by_100_frames": [float(np.median(fake[:, w])) / real for w in windows(fake)]}
