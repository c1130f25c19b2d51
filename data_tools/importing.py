"""Bring recorded gameplay from elsewhere into the dataset format: a video plus per-frame actions.

The whole import is built in a temporary folder and moved into place only when every source
has been read, so a bad file leaves nothing behind. ``vpt.py`` supplies the OpenAI VPT
action mapping; ``import-video`` sources name the 25 actions directly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from wm_video.actions import ACTION_NAMES, action_from_dict
from wm_video.video import VideoError, iter_video, video_fps

from .dataset import DatasetError, DatasetInfo, Episode, staged_dataset, write_episode

# Recorders often write a frame more or fewer than the video holds: up to this many are
# trimmed silently; beyond it the files do not belong together.
LENGTH_TOLERANCE = 2

ActionParser = Callable[[list[dict], Path], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class Source:
    """One recording: a video and the JSON-lines file of its per-frame actions."""

    video: Path
    actions: Path


def read_jsonl(path: Path) -> list[dict]:
    """One JSON object per line; blank lines are skipped. Errors name the file and line."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such actions file")
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{path}:{number}: not valid JSON ({e.msg})") from None
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            records.append(record)
    if not records:
        raise DatasetError(f"{path}: holds no actions")
    return records


def named_actions(records: list[dict], path: Path) -> tuple[np.ndarray, None]:
    """``import-video`` actions: each line maps action names to values; missing names mean 0."""
    actions = np.empty((len(records), len(ACTION_NAMES)), dtype=np.float32)
    for i, record in enumerate(records):
        try:
            actions[i] = action_from_dict(record)
        except KeyError as e:
            raise DatasetError(f"{path}:{i + 1}: unknown action name {e.args[0]!r} "
                               f"(known: {', '.join(ACTION_NAMES)})") from None
        except (TypeError, ValueError):
            raise DatasetError(f"{path}:{i + 1}: action values must be numbers") from None
    return actions, None


def fit_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Center-crop ``frame`` to the target aspect ratio, then resize it to ``width`` x ``height``."""
    h, w = frame.shape[:2]
    if w * height > h * width:  # too wide
        crop = round(h * width / height)
        frame = frame[:, (w - crop) // 2:(w - crop) // 2 + crop]
    elif w * height < h * width:  # too tall
        crop = round(w * height / width)
        frame = frame[(h - crop) // 2:(h - crop) // 2 + crop]
    if frame.shape[:2] != (height, width):
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame)


def import_sources(sources: Sequence[Source], out: str | Path, parse: ActionParser, *, source: str,
                   width: int, height: int) -> int:
    """Import each source as one episode into a new dataset at ``out``; return the frame count."""
    if not sources:
        raise DatasetError("no sources to import")
    fps = _common_fps(sources)
    info = DatasetInfo(source=source, fps=fps, width=width, height=height)
    total = 0
    with staged_dataset(out, info) as staging, tqdm(sources, desc=f"importing {source}", unit="video") as bar:
        for index, src in enumerate(bar):
            actions, poses = parse(read_jsonl(src.actions), src.actions)
            frames = np.stack([fit_frame(f, width, height) for f in _decode(src.video)])
            n = _matched_length(src, len(frames), len(actions))
            episode = Episode(frames=frames[:n], actions=actions[:n], poses=None if poses is None else poses[:n])
            write_episode(staging, index, episode, fps=fps)
            total += n
    return total


def _decode(path: Path):
    try:
        yield from iter_video(path)
    except VideoError as e:
        raise DatasetError(str(e)) from None


def _common_fps(sources: Sequence[Source]) -> float:
    rates = {}
    for src in sources:
        try:
            rates[src.video] = round(video_fps(src.video), 3)
        except VideoError as e:
            raise DatasetError(str(e)) from None
    first = next(iter(rates.values()))
    for path, fps in rates.items():
        if not math.isclose(fps, first, rel_tol=0.01):
            raise DatasetError(f"{path}: {fps} fps, but {sources[0].video} has {first}; import them separately")
    return first


def _matched_length(src: Source, frames: int, actions: int) -> int:
    if abs(frames - actions) > LENGTH_TOLERANCE:
        raise DatasetError(f"{src.actions}: {actions} action lines for {frames} frames of {src.video} "
                           f"(more than {LENGTH_TOLERANCE} apart)")
    return min(frames, actions)
