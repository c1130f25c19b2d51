"""``wm-video encode``: turn an image dataset into a latent dataset with a trained VAE (resumable)."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from data_tools.dataset import DatasetError, episode_indices, read_episode, read_info
from data_tools.latents import LatentInfo, open_latents, write_latent_episode
from wm_video.models.storage import load_model
from wm_video.models.vae import FrameVAE, frames_to_input
from wm_video.precision import compute_precision

SCALE_SAMPLE = 1024  # frames used to measure the latents' spread
SCALE_EPISODES = 32  # ... from at most this many episodes spread through the dataset (each read decodes a whole one)


@torch.inference_mode()
def encode_frames(vae: FrameVAE, frames: np.ndarray, batch: int = 64) -> np.ndarray:
    """The posterior means of ``frames`` (deterministic codes), (B, C, h, w) float32, computed in the
    compute dtype of the VAE's device (bf16 autocast where it is native)."""
    x = frames_to_input(torch.from_numpy(frames))
    bf16 = compute_precision(vae.device).name == "bf16"
    with torch.autocast(vae.device.type, dtype=torch.bfloat16, enabled=bf16):
        out = [vae.encode(x[i:i + batch].to(vae.device)).mode().float().cpu() for i in range(0, len(x), batch)]
    return torch.cat(out).numpy()


def measure_scaling_factor(vae: FrameVAE, root: str | Path) -> float:
    """1 / std of the latents over frames spread evenly through the dataset."""
    indices = episode_indices(root)
    indices = [indices[i] for i in np.linspace(0, len(indices) - 1, min(SCALE_EPISODES, len(indices))).astype(int)]
    per_episode = max(1, SCALE_SAMPLE // len(indices))
    samples = []
    for k in indices:
        frames = read_episode(root, k).frames
        pick = np.linspace(0, len(frames) - 1, min(per_episode, len(frames))).astype(int)
        samples.append(encode_frames(vae, frames[pick]))
    return float(1.0 / np.concatenate(samples).std())


def _load_vae(vae_path: str | Path) -> FrameVAE:
    return load_model(FrameVAE, vae_path).to("cuda" if torch.cuda.is_available() else "cpu")


def _encode_episode(vae: FrameVAE, data: str, out: str, index: int, fps: float) -> int:
    episode = read_episode(data, index)
    write_latent_episode(out, index, encode_frames(vae, episode.frames), episode.actions, episode.poses, fps)
    return index


_worker_vae: FrameVAE | None = None  # one per worker process, loaded once


def _start_worker(vae_path: str, threads: int) -> None:
    global _worker_vae
    torch.set_num_threads(threads)
    _worker_vae = _load_vae(vae_path)


def _encode_in_worker(data: str, out: str, index: int, fps: float) -> int:
    return _encode_episode(_worker_vae, data, out, index, fps)


def encode_dataset(data: str | Path, vae_path: str | Path, out: str | Path, workers: int = 1) -> int:
    """Encode every episode of ``data`` not yet in ``out``; return how many were encoded now.

    With ``workers`` > 1, spawned processes each read, encode and write whole episodes: reading
    (PNG decoding) and writing (Arrow conversion) then overlap the encoding, which on a GPU is
    most of the time a single process spends.
    """
    info = read_info(data)
    vae = _load_vae(vae_path)
    h, w = vae.config.image_size
    if (info.height, info.width) != (h, w):
        raise DatasetError(f"{data}: frames are {info.width}x{info.height}, but the VAE at {vae_path} takes {w}x{h}")
    existing = Path(out) / "meta" / "latents.json"
    scale = LatentInfo.read(out).scaling_factor if existing.is_file() else measure_scaling_factor(vae, data)
    latent_info = LatentInfo(vae=str(Path(vae_path).resolve()), latent_shape=tuple(vae.latent_shape),
                             scaling_factor=scale, source=str(Path(data).resolve()))
    done = open_latents(out, info, latent_info)
    todo = [k for k in episode_indices(data) if k not in done]
    data, out = os.fspath(data), os.fspath(out)
    bar = tqdm(total=len(todo), desc="encoding", unit="episode")
    with bar:
        if workers <= 1 or len(todo) <= 1:
            for k in todo:
                _encode_episode(vae, data, out, k, info.fps)
                bar.update(1)
        else:
            threads = max(1, torch.get_num_threads() // workers)
            with ProcessPoolExecutor(min(workers, len(todo)), mp_context=get_context("spawn"),
                                     initializer=_start_worker, initargs=(os.fspath(vae_path), threads)) as pool:
                for future in as_completed([pool.submit(_encode_in_worker, data, out, k, info.fps) for k in todo]):
                    future.result()
                    bar.update(1)
    return len(todo)
