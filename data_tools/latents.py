"""Latent datasets: the rows of a gameplay dataset with VAE latents in place of images.

Same folder layout as ``dataset.py`` (it loads with ``datasets.load_dataset(DIR)`` too), plus
``meta/latents.json``: the VAE that made the latents, their shape, and the scaling factor that
gives them unit variance. The dynamics model trains on ``latent * scaling_factor``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from wm_video.actions import ACTION_DIM

from .dataset import POSE_NAMES, DatasetError, DatasetInfo, atomic_write, episode_paths, open_for_recording, write_shard

LATENTS_PATH = "meta/latents.json"


@dataclass(frozen=True)
class LatentInfo:
    vae: str  # where the VAE was loaded from
    latent_shape: tuple[int, int, int]  # (C, h, w)
    scaling_factor: float
    source: str  # the image dataset encoded

    @classmethod
    def read(cls, root: str | Path) -> LatentInfo:
        path = Path(root) / LATENTS_PATH
        if not path.is_file():
            raise DatasetError(f"{root}: not a latent dataset (no {LATENTS_PATH}); make one with `wm-video encode`")
        d = json.loads(path.read_text())
        d["latent_shape"] = tuple(d["latent_shape"])
        return cls(**d)


def latent_features(shape: tuple[int, int, int]):
    from datasets import Array3D, Features, List, Value

    return Features({
        "episode_index": Value("int32"),
        "frame_index": Value("int32"),
        "timestamp": Value("float32"),
        "latent": Array3D(shape=tuple(shape), dtype="float16"),
        "action": List(Value("float32"), length=ACTION_DIM),
        "pose": List(Value("float32"), length=len(POSE_NAMES)),
    })


def open_latents(root: str | Path, info: DatasetInfo, latent_info: LatentInfo) -> set[int]:
    """Create a latent dataset, or reopen one made by the same VAE; return the episodes already done."""
    root = Path(root)
    path = root / LATENTS_PATH
    if path.is_file() and LatentInfo.read(root) != latent_info:
        raise DatasetError(f"{root}: already holds latents of another VAE or dataset; choose another --out")
    done = open_for_recording(root, info)
    atomic_write(path, json.dumps(asdict(latent_info), indent=2))
    return done


def write_latent_episode(root: str | Path, index: int, latents: np.ndarray, actions: np.ndarray,
                         poses: np.ndarray | None, fps: float) -> Path:
    t = len(latents)
    poses = poses if poses is not None else np.full((t, len(POSE_NAMES)), np.nan, np.float32)
    table = {
        "episode_index": [index] * t,
        "frame_index": list(range(t)),
        "timestamp": [i / fps for i in range(t)],
        "latent": latents.astype(np.float16),
        "action": actions.astype(np.float32).tolist(),
        "pose": poses.astype(np.float32).tolist(),
    }
    return write_shard(root, index, table, latent_features(latents.shape[1:]))


def read_latent_episodes(root: str | Path) -> tuple[LatentInfo, list[tuple[np.ndarray, np.ndarray]]]:
    """Every episode as ``(latents (T, C, h, w) float16, actions (T, 25) float32)``, in episode order."""
    import pyarrow.parquet as pq

    info = LatentInfo.read(root)
    episodes = []
    for path in episode_paths(root).values():
        try:
            table = pq.read_table(path, columns=["frame_index", "latent", "action"])
            order = np.argsort(table.column("frame_index").to_numpy())
            values = table.column("latent").combine_chunks()
            values = getattr(values, "storage", values)  # datasets' Array3D is an Arrow extension type
            for _ in range(3):  # Array3D is stored as lists of lists of lists
                values = values.flatten()
            latents = values.to_numpy(zero_copy_only=False).reshape(-1, *info.latent_shape)[order]
            actions = np.asarray(table.column("action").to_pylist(), dtype=np.float32)[order]
        except Exception as e:
            raise DatasetError(f"{path}: cannot read latents ({type(e).__name__}: {e})") from None
        episodes.append((latents, actions))
    return info, episodes
