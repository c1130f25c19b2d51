"""A scripted player that records like a person plays: it explores, digs, builds and looks around.

It picks a *behaviour* (walk, turn, look, strafe, dig, build, ...) and keeps it for several
frames, so actions persist as a person's do, and a few reflexes override it: jump when
walking into a step, turn away from a wall it cannot climb, swim up and turn back to land in
water. Every action the game models shows up often enough for a model to learn it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wm_video.actions import ACTION_INDEX, HOTBAR_SLOTS, empty_action

from .game import Game
from .game.blocks import WATER

_I = ACTION_INDEX

# Behaviours and how often each is chosen.
BEHAVIOURS = {
    "walk": 0.30, "turn": 0.13, "look": 0.08, "strafe": 0.12, "back": 0.07,
    "dig": 0.11, "build": 0.09, "pillar": 0.02, "idle": 0.04, "jump": 0.04,
}


@dataclass
class _Behaviour:
    name: str
    frames_left: int
    yaw_rate: float = 0.0  # degrees per frame
    pitch_goal: float = 0.0  # degrees
    strafe: str | None = None
    sprint: bool = False
    sneak: bool = False


class ScriptedPlayer:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.behaviour = self._choose("walk")
        self._last_xz: tuple[float, float] | None = None
        self._stuck = 0  # frames walking without moving
        self._free = 0  # frames moving freely
        self._walls = 0  # walls met since last moving freely
        self._in_water = 0

    def act(self, game: Game) -> np.ndarray:
        """The action for the frame on screen now."""
        b, p, rng = self.behaviour, game.player, self.rng
        if b.frames_left <= 0:
            b = self.behaviour = self._choose()
        b.frames_left -= 1
        a = empty_action()

        # The behaviour's own keys.
        walking = b.name in ("walk", "jump")
        if walking or (b.name == "turn" and rng.uniform() < 0.5):
            a[_I["forward"]] = 1
        if b.name == "back":
            a[_I["back"]] = 1
        if b.strafe:
            a[_I[b.strafe]] = 1
        if b.sprint and a[_I["forward"]]:
            a[_I["sprint"]] = 1
        if b.sneak:
            a[_I["sneak"]] = 1
        if b.name == "jump" and rng.uniform() < 0.3:
            a[_I["jump"]] = 1
        if b.name == "dig":
            a[_I["attack"]] = 1
        if b.name in ("build", "pillar"):
            a[_I["use"]] = 1
            if b.name == "pillar":
                a[_I["jump"]] = 1

        # Camera: a smooth turn plus easing toward the behaviour's pitch, with hand jitter.
        yaw = b.yaw_rate + rng.normal(0, 0.4)
        pitch = float(np.clip((b.pitch_goal - p.pitch) * 0.25, -6, 6)) + rng.normal(0, 0.3)
        a[_I["camera.yaw"]] = round(yaw, 2)
        a[_I["camera.pitch"]] = round(pitch, 2)

        if rng.uniform() < 1 / 80:  # change the held block now and then
            a[_I[f"hotbar.{int(rng.integers(1, HOTBAR_SLOTS + 1))}"]] = 1

        self._reflexes(game, a)
        return a

    def _choose(self, name: str | None = None) -> _Behaviour:
        rng = self.rng
        if name is None:
            names = list(BEHAVIOURS)
            weights = np.array([BEHAVIOURS[n] for n in names])
            name = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        b = _Behaviour(name=name, frames_left=int(rng.integers(8, 40)))
        b.pitch_goal = float(rng.normal(5, 10))
        if name in ("walk", "jump"):
            b.yaw_rate = float(rng.normal(0, 1.2))
            b.sprint = rng.uniform() < 0.3
            b.sneak = not b.sprint and rng.uniform() < 0.2
            if rng.uniform() < 0.2:
                b.strafe = str(rng.choice(["left", "right"]))  # walking diagonally
            b.frames_left = int(rng.integers(20, 80))
        elif name == "turn":
            b.yaw_rate = float(rng.choice([-1, 1]) * rng.uniform(3, 12))
            b.frames_left = int(rng.integers(6, 24))
        elif name == "look":
            b.pitch_goal = float(rng.uniform(-45, 60))
            b.yaw_rate = float(rng.normal(0, 2))
        elif name in ("strafe", "back"):
            b.strafe = str(rng.choice(["left", "right"])) if name == "strafe" or rng.uniform() < 0.3 else None
            b.sneak = rng.uniform() < 0.2
        elif name == "dig":
            b.pitch_goal = float(rng.uniform(15, 70))
            b.frames_left = int(rng.integers(15, 60))
        elif name == "build":
            b.pitch_goal = float(rng.uniform(20, 60))
            b.yaw_rate = float(rng.normal(0, 1.5))
            b.sneak = rng.uniform() < 0.5  # builders sneak so as not to fall off their work
            b.frames_left = int(rng.integers(6, 25))
        elif name == "pillar":
            b.pitch_goal = 90.0
            b.frames_left = int(rng.integers(10, 30))
        return b

    def _reflexes(self, game: Game, a: np.ndarray) -> None:
        """Override the behaviour where a person would: steps, walls, water."""
        p, rng = game.player, self.rng
        moved = self._last_xz is not None and math.hypot(p.x - self._last_xz[0], p.z - self._last_xz[1]) > 0.02
        self._last_xz = (p.x, p.z)
        walking = a[_I["forward"]] or a[_I["back"]] or a[_I["left"]] or a[_I["right"]]

        self._stuck = self._stuck + 1 if walking and not moved else 0
        self._free = self._free + 1 if moved else 0
        if self._free > 40:
            self._walls = 0
        if self._stuck >= 2:
            a[_I["jump"]] = 1  # a step in the way: jump it
        if self._stuck >= 12:
            self._stuck = 0
            self._walls += 1
            if self._walls >= 3:
                # Walls on every side (a pit it dug, say): build a pillar out of it.
                self.behaviour = self._choose("pillar")
                self.behaviour.frames_left = 16
                self._walls = 0
            else:
                self.behaviour = self._choose("turn")
                self.behaviour.yaw_rate = float(rng.choice([-1, 1]) * rng.uniform(8, 15))
                self.behaviour.frames_left = int(rng.integers(10, 20))

        if game.in_water:
            self._in_water += 1
            a[_I["jump"]] = 1
            a[_I["forward"]] = 1
            if self._in_water % 30 == 15:  # not reaching the shore this way: turn around
                self.behaviour = self._choose("turn")
                self.behaviour.yaw_rate = float(rng.choice([-1, 1]) * 12.0)
                self.behaviour.frames_left = 15
        else:
            self._in_water = 0
            if a[_I["forward"]] and self._water_ahead(game) and rng.uniform() < 0.8:
                self.behaviour = self._choose("turn")
                self.behaviour.yaw_rate = float(rng.choice([-1, 1]) * rng.uniform(9, 15))
                self.behaviour.frames_left = int(rng.integers(10, 18))
                a[_I["forward"]] = 0

    @staticmethod
    def _water_ahead(game: Game) -> bool:
        p = game.player
        yaw = math.radians(p.yaw)
        for dist in (1.5, 2.5):
            x, z = p.x - math.sin(yaw) * dist, p.z + math.cos(yaw) * dist
            for dy in (-1, -2):
                if game.world.get(math.floor(x), math.floor(p.y) + dy + 1, math.floor(z)) == WATER:
                    return True
        return False
