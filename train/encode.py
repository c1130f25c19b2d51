"""``wm-video encode``: turn an image dataset into a latent dataset with a trained VAE (resumable)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from data_tools.dataset import DatasetError, episode_indices, read_episode, read_info
from data_tools.latents import LatentInfo, open_latents, write_latent_episode
from wm_video.models.loading import load_model
from wm_video.models.vae import FrameVAE, frames_to_input

SCALE_SAMPLE = 1024  # frames used to measure the latents' spread
SCALE_EPISODES = 32  # ... from at most this many episodes spread through the dataset (each read decodes a whole one)


@torch.inference_mode()
def encode_frames(vae: FrameVAE, frames: np.ndarray, batch: int = 64) -> np.ndarray:
    """The posterior means of ``frames`` (deterministic codes), (B, C, h, w) float32."""
    x = frames_to_input(torch.from_numpy(frames))
    out = [vae.encode(x[i:i + batch].to(vae.device)).mode().cpu() for i in range(0, len(x), batch)]
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


def encode_dataset(data: str | Path, vae_path: str | Path, out: str | Path) -> int:
    """Encode every episode of ``data`` not yet in ``out``; return how many were encoded now."""
    info = read_info(data)
    vae = load_model(FrameVAE, vae_path).to("cuda" if torch.cuda.is_available() else "cpu")
    h, w = vae.config.image_size
    if (info.height, info.width) != (h, w):
        raise DatasetError(f"{data}: frames are {info.width}x{info.height}, but the VAE at {vae_path} takes {w}x{h}")
    existing = Path(out) / "meta" / "latents.json"
    scale = LatentInfo.read(out).scaling_factor if existing.is_file() else measure_scaling_factor(vae, data)
    latent_info = LatentInfo(vae=str(Path(vae_path).resolve()), latent_shape=tuple(vae.latent_shape),
                             scaling_factor=scale, source=str(Path(data).resolve()))
    done = open_latents(out, info, latent_info)
    todo = [k for k in episode_indices(data) if k not in done]
    for k in tqdm(todo, desc="encoding", unit="episode"):
        episode = read_episode(data, k)
        write_latent_episode(out, k, encode_frames(vae, episode.frames), episode.actions, episode.poses, info.fps)
    return len(todo)
