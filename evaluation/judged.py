"""What a player sees, scored by the FrameJudge (``wm_video.judge``): world consistency and realism.

* World consistency: per frame, the mean IoU between the judge's labels of the imagined frame and
  the real game's true labels at the same step, at horizons 1..H. Beside it the ceiling (the judge
  on the real frames themselves) and the floor (the last prompt frame held still).
* Realism: the Frechet distance between the judge's pooled features of imagined and real frames.
  The rollouts (units: one seed's frames) are split in two halves by seed; imagined frames of one
  half are measured against the real frames of the other, both ways, averaged. Beside it the
  floor (real half against real half) and a visible reference (real frames blurred by a Gaussian
  of sigma 1 px, against the other half). Its standard error comes from a bootstrap over the
  units of each half.

``realism_of_videos`` scores any videos against a dataset's frames (``wm-video realism``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from wm_video.errors import UserError
from wm_video.judge import FrameJudge, frechet_distance, judge_features, mean_iou, predict_labels
from wm_video.metrics import gaussian_blur, sharpness

HORIZONS = (1, 4, 16, 64)
LONG_STRIDE = 4  # every 4th frame of a long rollout: neighbours are nearly the same picture
BOOTSTRAP = 100


def iou_curve(judge: FrameJudge, frames: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per frame, the mean IoU of the judge's labels of ``frames`` against the true ``labels``."""
    return mean_iou(predict_labels(judge, frames), labels, judge.num_classes)


def consistency(judge: FrameJudge, fakes: list[np.ndarray], real: list[np.ndarray], labels: list[np.ndarray],
                held: list[np.ndarray]) -> dict:
    """World consistency per episode and horizon: ``fakes``, ``real`` and ``labels`` hold each episode's
    imagined frames, real frames and true labels after the prompt; ``held`` its last prompt frame."""
    imagined = np.stack([iou_curve(judge, f, lab) for f, lab in zip(fakes, labels, strict=True)])
    ceiling = np.stack([iou_curve(judge, r, lab) for r, lab in zip(real, labels, strict=True)])
    floor = np.stack([mean_iou(np.repeat(predict_labels(judge, h[None]), len(lab), 0), lab, judge.num_classes)
                      for h, lab in zip(held, labels, strict=True)])
    horizon = imagined.shape[1]
    return {"iou_by_horizon": imagined.mean(0).round(4).tolist(),
            "iou_by_episode": imagined.round(3).tolist(),
            **{f"iou@{h}": float(imagined[:, h - 1].mean()) for h in HORIZONS if h <= horizon},
            "real_iou_by_horizon": ceiling.mean(0).round(4).tolist(), "real_iou": float(ceiling.mean()),
            "held_iou_by_horizon": floor.mean(0).round(4).tolist(),
            **{f"held_iou@{h}": float(floor[:, h - 1].mean()) for h in HORIZONS if h <= horizon},
            "measure": "mean IoU over the classes in either map, judge's labels vs the real game's, per frame"}


def _halves_distance(fake: list[np.ndarray], real: list[np.ndarray]) -> float:
    """Imagined (or blurred) units of each half against the real units of the other, averaged."""
    a, b = slice(0, None, 2), slice(1, None, 2)
    return (frechet_distance(np.concatenate(fake[a]), np.concatenate(real[b]))
            + frechet_distance(np.concatenate(fake[b]), np.concatenate(real[a]))) / 2


def realism(judge: FrameJudge, fakes: list[np.ndarray], reals: list[np.ndarray], seed: int = 0) -> dict:
    """Realism distance of imagined units against the real ones (the same seeds, the same order)."""
    if len(fakes) != len(reals) or len(reals) < 2:
        raise ValueError(f"need as many imagined as real units, at least 2; got {len(fakes)} and {len(reals)}")
    fake_f = [judge_features(judge, f) for f in fakes]
    real_f = [judge_features(judge, r) for r in reals]
    blur_f = [judge_features(judge, gaussian_blur(r, 1.0)) for r in reals]
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(BOOTSTRAP):  # resample seeds within each half, as another set of seeds would
        pick = np.arange(len(reals))
        pick[0::2], pick[1::2] = rng.choice(pick[0::2], len(pick[0::2])), rng.choice(pick[1::2], len(pick[1::2]))
        boot.append(_halves_distance([fake_f[i] for i in pick], [real_f[i] for i in pick]))
    return {"distance": _halves_distance(fake_f, real_f), "distance_se": float(np.std(boot, ddof=1)),
            "real_floor": frechet_distance(np.concatenate(real_f[0::2]), np.concatenate(real_f[1::2])),
            "blurred_sigma1": _halves_distance(blur_f, real_f),
            "frames": int(sum(len(f) for f in fakes)), "units": len(fakes),
            "measure": "Frechet distance of the judge's pooled features, imagined vs real frames of the other "
                       "seeds (half against half, both ways); standard error: a bootstrap over seeds"}


def realism_units(long_fake: list[np.ndarray], long_real: list[np.ndarray], fakes: list[np.ndarray],
                  real: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Imagined and real units for ``realism``: the long rollouts (every LONG_STRIDE-th frame) and the
    autoregressive ones, one seed each; the long rollouts dealt alternately so both halves get some."""
    units_f = [f[::LONG_STRIDE] for f in long_fake] + list(fakes)
    units_r = [r[::LONG_STRIDE] for r in long_real] + list(real)
    return units_f, units_r


def _frames_of_video(path: str, size: tuple[int, int]) -> np.ndarray:
    from wm_video.video import iter_video

    frames = [f if f.shape[:2] == size[::-1] else cv2.resize(f, size, interpolation=cv2.INTER_AREA)
              for f in iter_video(path)]
    if len(frames) < 2:
        raise UserError(f"{path}: needs at least 2 frames to measure, has {len(frames)}")
    return np.stack(frames)


def reference_frames(dataset: str | Path, max_frames: int = 2000) -> np.ndarray:
    """Up to ``max_frames`` frames spread evenly over a dataset's episodes (read one at a time)."""
    from data_tools.dataset import DatasetError, episode_indices, read_episode, read_info

    read_info(dataset)  # a clear error for a folder that is no dataset
    episodes = episode_indices(dataset)
    if not episodes:
        raise DatasetError(f"{dataset}: holds no episodes")
    per = -(-max_frames // len(episodes))
    picked = []
    for k in episodes:
        frames = read_episode(dataset, k).frames
        picked.append(frames[np.linspace(0, len(frames) - 1, min(per, len(frames))).round().astype(int)])
    return np.concatenate(picked)[:max_frames]


def realism_of_videos(judge: FrameJudge, videos: list[str], reference: np.ndarray) -> dict:
    """Per video: its realism distance against ``reference`` frames and its sharpness over theirs
    (median brightness step between neighbouring pixels, imagined / real, as eval reports it).
    Frames of another size are resized to the reference's."""
    size = (reference.shape[2], reference.shape[1])
    ref_f = judge_features(judge, reference)
    ref_sharp = float(np.median(sharpness(reference)))
    out = {}
    for v in videos:
        frames = _frames_of_video(v, size)
        out[v] = {"realism_distance": frechet_distance(judge_features(judge, frames), ref_f),
                  "sharpness": float(np.median(sharpness(frames))) / max(ref_sharp, 1e-9), "frames": len(frames)}
    return out


def reference_floor(judge: FrameJudge, reference: np.ndarray) -> float:
    """The distance between the reference's first and second halves: what real frames score."""
    f = judge_features(judge, reference)
    half = len(f) // 2
    return frechet_distance(f[:half], f[half:])
