"""The real game's episodes an evaluation compares with, and the model imagining them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from data_tools.dataset import Episode
from data_tools.game import Game, GameConfig
from data_tools.record import play_episode
from wm_video.metrics import psnr, ssim
from wm_video.rollout import WorldSession


def game_config(size: tuple[int, int]) -> GameConfig:
    return replace(GameConfig(), width=size[0], height=size[1])


def real_episode(seed: int, frames: int, size: tuple[int, int]) -> Episode:
    """The scripted explorer in the real game: frames, their true label maps and the action pressed on each."""
    return play_episode(seed, frames, game_config(size), labels=True)


def replay(seed: int, size: tuple[int, int], actions: np.ndarray) -> np.ndarray:
    """The real game from ``seed`` under given actions (the action on frame t makes frame t + 1)."""
    game = Game(seed, game_config(size))
    return np.stack([game.reset()] + [game.step(a) for a in actions[:-1]])


def to_unit(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255


def quality(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame PSNR and SSIM of ``a`` against ``b``."""
    x, y = to_unit(a), to_unit(b)
    return psnr(x, y).numpy(), ssim(x, y).numpy()


def imagine(session: WorldSession, episode: Episode, prompt: int, actions: np.ndarray | None = None) -> np.ndarray:
    """Prompt with the first ``prompt`` real frames, then imagine the rest under ``actions`` (default: the real)."""
    actions = episode.actions if actions is None else actions
    session.reset(episode.frames[:prompt], episode.actions[:prompt])
    return np.stack([session.step(actions[t]) for t in range(prompt - 1, len(episode.frames) - 1)])


def shuffled_in_time(actions: np.ndarray, prompt: int, rng: np.random.Generator) -> np.ndarray:
    """The actions after the prompt in another order: the same keys, pressed at the wrong times."""
    out = actions.copy()
    out[prompt - 1:-1] = out[prompt - 1:-1][rng.permutation(len(actions) - prompt)]
    return out
