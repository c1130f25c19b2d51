"""Built-in game speed on one CPU core: step (physics + world update + render), render alone, and recording.

    python benchmarks/bench_game.py [--frames 600] [--size 128]

Target (issue: foundation): at least 300 frames/s at 128x128 on one core, world update included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from data_tools.game import Game, GameConfig  # noqa: E402
from data_tools.record import record  # noqa: E402
from data_tools.scripted_player import ScriptedPlayer  # noqa: E402


def scripted_actions(seed: int, frames: int, config: GameConfig) -> list[np.ndarray]:
    game, player = Game(seed, config), ScriptedPlayer(seed)
    actions = []
    for _ in range(frames):
        actions.append(player.act(game))
        game.step(actions[-1])
    return actions


def time_steps(seed: int, actions: list[np.ndarray], config: GameConfig) -> float:
    game = Game(seed, config)
    start = time.perf_counter()
    for a in actions:
        game.step(a)
    return len(actions) / (time.perf_counter() - start)


def time_render(seed: int, frames: int, config: GameConfig) -> float:
    game = Game(seed, config)
    start = time.perf_counter()
    for _ in range(frames):
        game.render()
    return frames / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the target says
    config = replace(GameConfig(), width=args.size, height=args.size)
    time_steps(0, scripted_actions(0, 20, config), config)  # JIT warm-up

    step_fps, render_fps = [], []
    for seed in range(args.repeats):
        actions = scripted_actions(seed, args.frames, config)  # the player's own cost is not the game's
        step_fps.append(time_steps(seed, actions, config))
        render_fps.append(time_render(seed, args.frames, config))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        record(f"{tmp}/ds", episodes=2, frames=args.frames // 2, size=(args.size, args.size))
        record_fps = args.frames / (time.perf_counter() - start)

    step = statistics.median(step_fps)
    print(f"\n{machine(dtype=False)} (the game runs in numba, not torch)")
    print(f"built-in game at {args.size}x{args.size}, 1 core, median of {args.repeats} runs of {args.frames} frames")
    print(f"{'what':<50}{'frames/s':>10}")
    print(f"{'step (physics + world update + render + HUD)':<50}{step:>10.0f}")
    print(f"{'render + HUD only':<50}{statistics.median(render_fps):>10.0f}")
    print(f"{'record (scripted player + step + PNG + Parquet)':<50}{record_fps:>10.0f}")
    print(f"target >= 300 frames/s for step: {'met' if step >= 300 else 'NOT met'} ({step / 300:.2f}x)")


if __name__ == "__main__":
    main()
