"""The scripted player in the built-in game: one episode played (``play``), and datasets recorded from it."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from wm_video.actions import ACTION_DIM
from wm_video.errors import UserError

from .dataset import POSE_NAMES, DatasetInfo, Episode, open_for_recording, write_episode
from .game import FPS, GAME_VERSION, Game, GameConfig
from .game.blocks import LABEL_NAMES
from .scripted_player import ScriptedPlayer


def episode_seed(seed: int, episode: int) -> int:
    """The world (and player) seed of one episode: distinct per episode, fixed by the dataset seed."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def play(game: Game, player: ScriptedPlayer, frames: int, labels: bool = False,
         on_frame: Callable[[], None] | None = None) -> Episode:
    """Reset ``game`` and let ``player`` play ``frames`` frames; row t of each array is frame t's
    (its action: the one pressed while it was on screen). The game is left on the last frame."""
    images = np.empty((frames, game.config.height, game.config.width, 3), dtype=np.uint8)
    maps = np.empty((frames, game.config.height, game.config.width), dtype=np.uint8) if labels else None
    actions = np.empty((frames, ACTION_DIM), dtype=np.float32)
    poses = np.empty((frames, len(POSE_NAMES)), dtype=np.float32)
    images[0] = game.reset()
    for t in range(frames):
        if maps is not None:
            maps[t] = game.labels()
        poses[t] = game.pose
        actions[t] = player.act(game)
        if t + 1 < frames:
            images[t + 1] = game.step(actions[t])
        if on_frame:
            on_frame()
    return Episode(frames=images, actions=actions, poses=poses, labels=maps)


def play_episode(seed: int, frames: int, config: GameConfig,
                 on_frame: Callable[[], None] | None = None, labels: bool = False) -> Episode:
    """The scripted player for ``frames`` frames in a world made from ``seed`` (with label maps if asked)."""
    return play(Game(seed, config), ScriptedPlayer(seed), frames, labels, on_frame)


def _record_one(out: str, index: int, seed: int, frames: int, config: GameConfig, labels: bool) -> int:
    episode = play_episode(episode_seed(seed, index), frames, config, labels=labels)
    write_episode(out, index, episode, fps=FPS)
    return index


def record(out: str | Path, episodes: int, frames: int, size: tuple[int, int] = (128, 128),
           seed: int = 0, workers: int = 1, labels: bool = False) -> list[int]:
    """Record episodes ``0..episodes-1`` into ``out``, skipping those already there; return the new ones.
    ``labels``: also record each frame's label map (a ``label`` column; class names in the info)."""
    if episodes < 1 or frames < 2:
        raise UserError(f"need at least 1 episode of at least 2 frames; got {episodes} of {frames}")
    width, height = size
    config = replace(GameConfig(), width=width, height=height)
    info = DatasetInfo(source="game", fps=FPS, width=width, height=height, seed=seed,
                       game_version=GAME_VERSION, frames_per_episode=frames,
                       extra={"label_classes": list(LABEL_NAMES)} if labels else {})
    done = open_for_recording(out, info)
    todo = [k for k in range(episodes) if k not in done]
    if done:
        print(f"{out}: resuming, {len(done & set(range(episodes)))} of {episodes} episodes already recorded")
    bar = tqdm(total=len(todo) * frames, unit="frame", desc=f"recording {len(todo)} episodes", smoothing=0.1)
    written: list[int] = []
    with bar:
        if workers <= 1:
            for k in todo:
                episode = play_episode(episode_seed(seed, k), frames, config, lambda: bar.update(1), labels)
                write_episode(out, k, episode, fps=FPS)
                written.append(k)
        else:
            # Spawned workers: each plays whole episodes and writes its own shard.
            with ProcessPoolExecutor(min(workers, len(todo) or 1), mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(_record_one, os.fspath(out), k, seed, frames, config, labels)
                           for k in todo]
                for future in as_completed(futures):
                    written.append(future.result())
                    bar.update(frames)
    return sorted(written)
