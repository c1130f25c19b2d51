"""``wm-video guess``: a world model's teacher-forced guesses of every frame of a latent dataset.

Each frame is imagined as play imagines it (the rollout's sampler and window), from the real frames
before it, and written in the latent dataset format, row for row: a decoder fine-tuned on these
guesses (``train-vae --guesses``) learns to draw what the world model imagines, not only what the
encoder codes. An episode's first ``window - 1`` frames, which have no full past, keep their real codes.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from data_tools.dataset import DatasetError, episode_paths, read_info
from data_tools.latents import LatentInfo, open_latents, read_latent_episodes, write_latent_episode
from wm_video.inference import cast, compiled
from wm_video.rollout import Rollout, RolloutConfig
from wm_video.world_model import WorldModel


@torch.inference_mode()
def guess_episode(rollout: Rollout, latents: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Scaled latents (T, C, h, w) and the actions pressed on each frame -> each frame guessed from the
    real frames before it (the first ``window - 1`` frames returned as they are)."""
    past = rollout.window - 1
    guesses = latents.clone()
    rollout.reset(latents[:past], actions[:past])
    for t in range(past - 1, len(latents) - 1):
        guesses[t + 1] = rollout.step(actions[t])
        rollout.replace_latest(latents[t + 1])  # the real frame, not the guess, is the next frame's past
    return guesses


def guess_dataset(model: str | Path, data: str | Path, out: str | Path, compile: bool = True) -> int:
    """Write the guesses of every episode of ``data`` not yet in ``out``; return how many were written."""
    world = WorldModel.load(model)
    info, latent_info = read_info(data), LatentInfo.read(data)
    if tuple(latent_info.latent_shape) != tuple(world.vae.latent_shape):
        raise DatasetError(f"{data}: latents are {latent_info.latent_shape}, the model's VAE makes "
                           f"{tuple(world.vae.latent_shape)}; encode the frames with its VAE")
    dit = cast(copy.deepcopy(world.dit), torch.bfloat16)
    rollout = Rollout(compiled(dit) if compile else dit, RolloutConfig())
    scale = world.info.scaling_factor  # the model's, as in play: the DiT works in its own scaled space
    done = open_latents(out, info, LatentInfo(vae=latent_info.vae, latent_shape=latent_info.latent_shape,
                                              scaling_factor=latent_info.scaling_factor,
                                              source=f"guesses of {Path(model).resolve()} on {Path(data).resolve()}"))
    _, episodes = read_latent_episodes(data)  # in the order of episode_paths
    todo = [(k, e) for k, e in zip(episode_paths(data), episodes, strict=True) if k not in done]
    for k, (z, actions) in tqdm(todo, desc="guessing", unit="episode"):
        if len(z) < rollout.window:
            raise DatasetError(f"{data}: episode {k} has {len(z)} frames; guessing needs {rollout.window}")
        guesses = guess_episode(rollout, torch.from_numpy(z).float() * scale, torch.from_numpy(actions)) / scale
        write_latent_episode(out, k, guesses.numpy(), actions, None, info.fps)
    return len(todo)
