"""``wm-video preview``: an episode as a video, upscaled, with the pressed actions written under it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from wm_video.actions import CAMERA_NAMES, action_to_dict
from wm_video.video import write_video

from .dataset import read_episode, read_info


def caption(action: np.ndarray) -> str:
    pressed = action_to_dict(action)
    keys = [name for name in pressed if name not in CAMERA_NAMES]
    pitch, yaw = pressed.get("camera.pitch", 0.0), pressed.get("camera.yaw", 0.0)
    return f"pitch {pitch:+5.1f} yaw {yaw:+5.1f}  " + " ".join(keys)


def annotate(frame: np.ndarray, action: np.ndarray, scale: int) -> np.ndarray:
    """Upscale ``frame`` by ``scale`` (nearest, to keep block edges crisp) and add a caption strip."""
    big = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    strip = np.zeros((20, big.shape[1], 3), dtype=np.uint8)
    cv2.putText(strip, caption(action), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (235, 235, 235), 1,
                cv2.LINE_AA)
    return np.concatenate([big, strip], axis=0)


def preview(root: str | Path, episode: int, out: str | Path, scale: int = 4) -> int:
    info = read_info(root)
    ep = read_episode(root, episode)
    return write_video(out, (annotate(f, a, scale) for f, a in zip(ep.frames, ep.actions, strict=True)), fps=info.fps)
