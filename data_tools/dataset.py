"""The gameplay dataset format, defined once: recorders, importers and loaders all use this file.

A dataset is a folder that ``datasets.load_dataset(DIR)`` opens (also with ``streaming=True``)::

    DIR/README.md                      dataset card; its YAML header points `datasets` at the shards
    DIR/meta/info.json                 DatasetInfo: fps, frame size, action names, source, seed...
    DIR/data/episode_000000.parquet    one Parquet shard per episode, one row per frame

Each row holds ``episode_index``, ``frame_index``, ``timestamp`` (s), ``image`` (PNG),
``action`` (25 floats, the layout of ``wm_video.actions``, pressed while this frame was on
screen) and ``pose`` (x, y, z, yaw, pitch of the player; NaN where the source has none).
Game recordings made with ``record --labels`` add ``label``: a PNG of the frame's label map, one
uint8 class per pixel, the class names in ``meta/info.json`` under ``extra.label_classes``.
Shards are written to a temporary name and renamed, so a folder only ever holds whole episodes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from wm_video.actions import ACTION_DIM, ACTION_NAMES
from wm_video.errors import UserError

FORMAT = "wm-video-dataset/1"
POSE_NAMES = ("x", "y", "z", "yaw", "pitch")
INFO_PATH = "meta/info.json"
DATA_DIR = "data"

_CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.parquet
---
# {name}

Gameplay recorded for wm-video ({source}): {width}x{height} frames at {fps:g} fps, one row per
frame with the 25-dim action pressed on that frame. Format and metadata: `meta/info.json`.
"""


class DatasetError(UserError):
    """A dataset folder that is missing, damaged, or not what was asked for; the message names it."""


def features(labels: bool = False):
    """The `datasets` schema of one row (with the ``label`` column of a labelled recording)."""
    from datasets import Features, Image, List, Value

    return Features({
        "episode_index": Value("int32"),
        "frame_index": Value("int32"),
        "timestamp": Value("float32"),
        "image": Image(),
        "action": List(Value("float32"), length=ACTION_DIM),
        "pose": List(Value("float32"), length=len(POSE_NAMES)),
        **({"label": Value("binary")} if labels else {}),
    })


@dataclass(frozen=True)
class DatasetInfo:
    source: str  # "game", "vpt" or "video"
    fps: float
    width: int
    height: int
    seed: int | None = None  # game recordings: the seed episodes' worlds derive from
    game_version: str | None = None
    frames_per_episode: int | None = None
    action_names: tuple[str, ...] = ACTION_NAMES
    format: str = FORMAT
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.format != FORMAT:
            raise ValueError(f"format is {self.format!r}, this wm-video reads {FORMAT!r}")
        if tuple(self.action_names) != ACTION_NAMES:
            raise ValueError(f"action_names differ from wm-video's {ACTION_DIM}-dim layout")
        if self.width < 8 or self.height < 8 or self.fps <= 0:
            raise ValueError(f"bad frame size {self.width}x{self.height} or fps {self.fps}")

    def to_json(self) -> str:
        d = asdict(self)
        d["action_names"] = list(self.action_names)
        return json.dumps(d, indent=2)

    @classmethod
    def from_json(cls, text: str) -> DatasetInfo:
        d = json.loads(text)
        d["action_names"] = tuple(d.get("action_names", ()))
        return cls(**d)


@dataclass
class Episode:
    """One continuous recording: frame ``t`` was on screen while ``actions[t]`` was pressed."""

    frames: np.ndarray  # (T, H, W, 3) uint8, RGB
    actions: np.ndarray  # (T, 25) float32
    poses: np.ndarray | None = None  # (T, 5) float32, or None when unknown
    labels: np.ndarray | None = None  # (T, H, W) uint8 label maps (game recordings with --labels), or None

    def __post_init__(self):
        t = len(self.frames)
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {self.frames.shape} {self.frames.dtype}")
        if self.actions.shape != (t, ACTION_DIM):
            raise ValueError(f"actions must be ({t}, {ACTION_DIM}), got {self.actions.shape}")
        if self.poses is not None and self.poses.shape != (t, len(POSE_NAMES)):
            raise ValueError(f"poses must be ({t}, {len(POSE_NAMES)}), got {self.poses.shape}")
        if self.labels is not None and (self.labels.shape != self.frames.shape[:3] or self.labels.dtype != np.uint8):
            raise ValueError(f"labels must be {self.frames.shape[:3]} uint8, got {self.labels.shape} "
                             f"{self.labels.dtype}")

    def __len__(self) -> int:
        return len(self.frames)


# -- writing ----------------------------------------------------------------------------------

def open_for_recording(root: str | Path, info: DatasetInfo) -> set[int]:
    """Create ``root`` for ``info``, or reopen a recording of the same kind; return finished episodes.

    Raises DatasetError if ``root`` holds another dataset or unrelated files.
    """
    root = Path(root)
    info_file = root / INFO_PATH
    if info_file.exists():
        existing = read_info(root)
        if existing != info:
            raise DatasetError(f"{root}: already holds another dataset ({_differences(existing, info)}); "
                               "choose another --out")
    else:
        if root.exists() and any(root.iterdir()):
            raise DatasetError(f"{root}: folder is not empty and holds no wm-video dataset")
        _write_metadata(root, info)
    for stale in (root / DATA_DIR).glob(".*.partial*"):
        stale.unlink()  # an episode cut off mid-write: it will be recorded again
    return set(episode_indices(root))


@contextlib.contextmanager
def staged_dataset(root: str | Path, info: DatasetInfo) -> Iterator[Path]:
    """Build a whole dataset in a temporary folder beside ``root`` and move it into place at the end.

    Importers use this: on any error nothing is left at ``root``.
    """
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        what = "another dataset" if (root / INFO_PATH).exists() else "other files"
        raise DatasetError(f"{root}: already holds {what}; choose another --out")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        _write_metadata(tmp, info)
        yield tmp
        if root.exists():
            root.rmdir()
        os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_episode(root: str | Path, index: int, episode: Episode, fps: float) -> Path:
    """Write one episode as a Parquet shard (atomically); return its path."""
    t = len(episode)
    poses = episode.poses if episode.poses is not None else np.full((t, len(POSE_NAMES)), np.nan)
    table = {
        "episode_index": [index] * t,
        "frame_index": list(range(t)),
        "timestamp": [i / fps for i in range(t)],
        "image": [{"bytes": encode_png(f), "path": None} for f in episode.frames],
        "action": episode.actions.astype(np.float32).tolist(),
        "pose": poses.astype(np.float32).tolist(),
    }
    if episode.labels is not None:
        table["label"] = [encode_label_png(m) for m in episode.labels]
    return write_shard(root, index, table, features(labels=episode.labels is not None))


def write_shard(root: str | Path, index: int, table: dict, schema) -> Path:
    """Write one episode's rows (columns of ``schema``) to ``data/episode_NNNNNN.parquet`` atomically."""
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # one bar per shard would bury the caller's own
    path = Path(root) / DATA_DIR / f"episode_{index:06d}.parquet"
    tmp = path.with_name(f".{path.stem}.partial")
    Dataset.from_dict(table, features=schema).to_parquet(str(tmp))
    os.replace(tmp, path)
    return path


def encode_png(frame: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def encode_label_png(labels: np.ndarray) -> bytes:
    """A (H, W) uint8 label map as a lossless grey PNG."""
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(labels), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def decode_label_png(data: bytes) -> np.ndarray:
    labels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if labels is None or labels.ndim != 2:
        raise ValueError("not a decodable label map")
    return labels


def decode_png(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a decodable image")
    return image[..., ::-1]


@functools.cache
def _decoders() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(os.cpu_count())


def decode_pngs(images: Iterable[bytes]) -> np.ndarray:
    """Frames (N, H, W, 3) from encoded images, decoded on every core (cv2 lets go of the GIL)."""
    return np.stack(list(_decoders().map(decode_png, images)))


def _write_metadata(root: Path, info: DatasetInfo) -> None:
    (root / DATA_DIR).mkdir(parents=True, exist_ok=True)
    (root / "meta").mkdir(exist_ok=True)
    atomic_write(root / INFO_PATH, info.to_json())
    atomic_write(root / "README.md", _CARD.format(name=root.name, **asdict(info)))


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def _differences(a: DatasetInfo, b: DatasetInfo) -> str:
    da, db = asdict(a), asdict(b)
    return ", ".join(f"{k}: {da[k]!r} there, {db[k]!r} asked" for k in da if da[k] != db[k])


# -- reading ----------------------------------------------------------------------------------

def read_info(root: str | Path) -> DatasetInfo:
    path = Path(root) / INFO_PATH
    if not path.is_file():
        raise DatasetError(f"{root}: not a wm-video dataset (no {INFO_PATH})")
    try:
        return DatasetInfo.from_json(path.read_text())
    except (ValueError, TypeError) as e:
        raise DatasetError(f"{path}: {e}") from None


def episode_paths(root: str | Path) -> dict[int, Path]:
    return {int(p.stem.split("_")[1]): p for p in sorted((Path(root) / DATA_DIR).glob("episode_*.parquet"))}


def episode_indices(root: str | Path) -> list[int]:
    return sorted(episode_paths(root))


def read_episode(root: str | Path, index: int) -> Episode:
    """Load episode ``index`` into memory (frames decoded; label maps too where it has them)."""
    import pyarrow.parquet as pq

    paths = episode_paths(root)
    if index not in paths:
        raise DatasetError(f"{root}: no episode {index} (it has {len(paths)}: {_ranges(sorted(paths))})")
    try:
        columns = ["frame_index", "image", "action", "pose"]
        if "label" in pq.read_schema(paths[index]).names:
            columns.append("label")
        table = pq.read_table(paths[index], columns=columns).to_pydict()
        order = np.argsort(table["frame_index"])
        frames = decode_pngs(table["image"][i]["bytes"] for i in order)
        labels = np.stack([decode_label_png(table["label"][i]) for i in order]) if "label" in table else None
    except Exception as e:
        raise DatasetError(f"{paths[index]}: cannot read episode ({e})") from None
    actions = np.asarray(table["action"], dtype=np.float32)[order]
    poses = np.asarray(table["pose"], dtype=np.float32)[order]
    return Episode(frames=frames, actions=actions, poses=None if np.isnan(poses).all() else poses, labels=labels)


def read_actions(root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(episode_index, actions)`` of every frame, without decoding images."""
    import pyarrow.parquet as pq

    episodes, actions = [], []
    for path in episode_paths(root).values():
        table = pq.read_table(path, columns=["episode_index", "action"])
        episodes.append(table.column("episode_index").to_numpy())
        actions.append(np.asarray(table.column("action").to_pylist(), dtype=np.float32).reshape(-1, ACTION_DIM))
    if not episodes:
        return np.zeros(0, np.int32), np.zeros((0, ACTION_DIM), np.float32)
    return np.concatenate(episodes), np.concatenate(actions)


def _ranges(values: list[int]) -> str:
    if not values:
        return "none"
    return f"{values[0]}..{values[-1]}" if values == list(range(values[0], values[-1] + 1)) else str(values)
