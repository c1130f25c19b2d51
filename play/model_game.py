"""The world model as a game: an env for the window, prompted from the real game, and a session recorder."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from wm_video.actions import action_to_dict
from wm_video.precision import compute_precision
from wm_video.rollout import RolloutConfig, WorldSession
from wm_video.video import write_video
from wm_video.world_model import PROMPT_FRAMES, WorldModel

from .prompts import make_prompt

REAL_TIME_FPS = 10  # below this, play no longer feels like a game: say so, once
TIMED_STEPS = 20  # the first second or two of play


def slow_play_note(fps: float) -> str:
    """One line: the measured rate and what would help on this machine."""
    precision = compute_precision("cpu")  # where the session runs
    faster = "bf16" if precision.native_bf16 else "fp32"
    if precision.name != faster:
        helps = f"--precision auto: this machine computes faster in {faster}"
    elif precision.name == "fp32":
        helps = ("--steps 2 trades some picture for speed; a CPU with native bf16 (AVX512-BF16 or AMX) "
                 "plays about twice as fast on as many cores")
    else:
        helps = "close other programs using the CPU; --steps 2 trades some picture for speed"
    return f"play: {fps:.1f} frames/s here, below real time ({REAL_TIME_FPS}); {precision.name}: {helps}"


class ModelGame:
    """``reset()`` starts a fresh imagined world from the real game at the next seed; ``step`` imagines."""

    def __init__(self, world: WorldModel, seed: int = 0, rollout: RolloutConfig | None = None, compile: bool = True):
        self.world, self.seed = world, seed
        if compile:
            print("compiling the model for this CPU (about 30 s, once per start)...", flush=True)
        self.session = WorldSession(world, rollout, compile=compile)
        self._timed: list[float] | None = []

    def reset(self) -> np.ndarray:
        prompt = make_prompt(f"game:{self.seed}", self.world, min(PROMPT_FRAMES, self.session.rollout.window - 1))
        self.session.reset(prompt.frames, prompt.actions)
        self.seed += 1
        return prompt.frames[-1]

    def step(self, action: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        frame = self.session.step(action)
        self._time_step(time.perf_counter() - start)
        return frame

    def _time_step(self, seconds: float) -> None:
        if self._timed is None:
            return
        self._timed.append(seconds)
        if len(self._timed) == TIMED_STEPS:
            fps = 1 / statistics.median(self._timed)
            if fps < REAL_TIME_FPS:
                print(slow_play_note(fps), flush=True)
            self._timed = None  # once per start


class SessionRecorder:
    """Collects what was on screen and the action pressed on it; saves mp4 + JSON lines for import-video."""

    def __init__(self, folder: str | Path, fps: float):
        self.folder, self.fps = Path(folder), fps
        self.frames: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []

    def __call__(self, frame: np.ndarray, action: np.ndarray) -> None:
        self.frames.append(frame.copy())
        self.actions.append(action.copy())

    def save(self) -> Path | None:
        if not self.frames:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        write_video(self.folder / "session.mp4", self.frames, fps=self.fps)
        tmp = self.folder / ".session.jsonl.partial"
        tmp.write_text("".join(json.dumps(action_to_dict(a)) + "\n" for a in self.actions))
        os.replace(tmp, self.folder / "session.jsonl")
        return self.folder
