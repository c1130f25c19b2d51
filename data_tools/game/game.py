"""The built-in game: a first-person Minecraft-like voxel game stepped one frame per action.

``Game(seed).reset()`` returns the first frame; ``game.step(action)`` applies one 25-dim
action (see ``wm_video.actions``) and returns the next frame as (H, W, 3) uint8. One step is
one tick at 20 frames/s, and movement uses Minecraft's per-tick numbers. Actions the game does
not model (inventory, ESC, swapHands, pickItem, drop) are accepted and ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from wm_video.actions import ACTION_DIM, ACTION_INDEX, HOTBAR_SLOTS

from . import blocks as B
from .hud import Hud
from .raycast import pick_block, render_view, sun_direction
from .world import World, WorldConfig

GAME_VERSION = "2"  # bump when frames for the same seed and actions change
FPS = 20

_I = ACTION_INDEX


@dataclass(frozen=True)
class GameConfig:
    width: int = 128
    height: int = 128
    fov: float = 70.0  # vertical field of view, degrees (Minecraft's default)
    fog_start: float = 24.0  # blocks
    fog_end: float = 44.0  # blocks; nothing farther is drawn
    reach: float = 4.5  # blocks the player can break or place at
    world: WorldConfig = field(default_factory=WorldConfig)


@dataclass
class Player:
    x: float
    y: float  # feet
    z: float
    yaw: float = 0.0  # degrees, 0 faces +z, grows turning right
    pitch: float = 0.0  # degrees, > 0 looks down
    vy: float = 0.0  # blocks per tick
    on_ground: bool = False
    slot: int = 0  # selected hotbar slot, 0-based

    WIDTH = 0.6
    HEIGHT = 1.8
    EYE = 1.62

    @property
    def eye(self) -> tuple[float, float, float]:
        return self.x, self.y + self.EYE, self.z


# Horizontal speeds in blocks per tick (Minecraft: walk 4.317, sprint 5.612, sneak 1.295 blocks/s).
WALK, SPRINT, SNEAK = 4.317 / FPS, 5.612 / FPS, 1.295 / FPS
JUMP_VELOCITY, GRAVITY, DRAG = 0.42, 0.08, 0.98
SWIM_UP, WATER_GRAVITY, WATER_DRAG, WATER_SLOWDOWN = 0.06, 0.02, 0.8, 0.5
MAX_FALL = 0.9  # blocks per tick; keeps every move shorter than one block
PLACE_COOLDOWN = 4  # ticks between placed blocks while use is held, as in Minecraft


class Game:
    def __init__(self, seed: int = 0, config: GameConfig | None = None):
        self.seed = int(seed)
        self.config = config or GameConfig()
        if self.config.width < 16 or self.config.height < 16:
            raise ValueError(f"frame size must be at least 16x16, got {self.config.width}x{self.config.height}")
        self._textures, opaque = B.make_textures()
        self._mip_rgb, self._mip_opaque = B.make_mipmaps(self._textures, opaque)
        self._sun = sun_direction()
        self.hud = Hud(self.config.width, self.config.height, self._textures)
        self._labels = np.zeros((self.config.height, self.config.width), dtype=np.uint8)
        self.world: World
        self.player: Player
        self.reset()

    # -- public API -------------------------------------------------------------------------
    def reset(self) -> np.ndarray:
        """Start over in a freshly generated world; return the first frame."""
        self.world = World(self.seed, self.config.world)
        self.tick = 0
        self._break_target: tuple[int, int, int] | None = None
        self._break_progress = 0
        self._place_cooldown = 0
        x, z = self._spawn_column()
        yaw = float(np.random.default_rng(self.seed).uniform(0, 360))
        self.world.ensure_loaded(x, z)
        y = self.world.ground_height(int(math.floor(x)), int(math.floor(z))) + 1.0
        self.player = Player(x=x, y=y, z=z, yaw=yaw, on_ground=True)
        self._settle()
        return self.render()

    def step(self, action: np.ndarray) -> np.ndarray:
        """Apply one action (25 floats) for one tick and return the new frame."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (ACTION_DIM,):
            raise ValueError(f"an action has shape ({ACTION_DIM},), got {a.shape}")
        self._select_hotbar(a)
        self._look(a)
        self._move(a)
        self._interact(a)
        self.world.ensure_loaded(self.player.x, self.player.z)
        self.tick += 1
        return self.render()

    @property
    def pose(self) -> np.ndarray:
        """(x, y, z, yaw, pitch) of the player: feet position in blocks, angles in degrees."""
        p = self.player
        return np.array([p.x, p.y, p.z, p.yaw % 360.0, p.pitch], dtype=np.float32)

    @property
    def in_water(self) -> bool:
        p = self.player
        return self.world.get(math.floor(p.x), math.floor(p.y + 0.4), math.floor(p.z)) == B.WATER

    def target(self) -> tuple[tuple[int, int, int], tuple[int, int, int]] | None:
        """The block under the crosshair within reach and the cell before it, or None."""
        p = self.player
        found, bx, by, bz, px, py, pz = pick_block(
            self.world.blocks, self.config.world.height, self.world.mask, *p.eye, p.yaw, p.pitch,
            self.config.reach)
        return ((bx, by, bz), (px, py, pz)) if found else None

    def labels(self) -> np.ndarray:
        """The label map of the last frame rendered: (H, W) uint8, one ``blocks.LABEL_NAMES`` class per pixel.

        Exact ground truth of what the player sees (the ray marcher knows what it hit), drawn with each frame.
        """
        return self._labels.copy()

    def render(self) -> np.ndarray:
        cfg, p = self.config, self.player
        frame = np.empty((cfg.height, cfg.width, 3), dtype=np.uint8)
        picked = self.target()
        target = np.array(picked[0] if picked else (0, -1, 0), dtype=np.int64)
        crack = 0.0
        if picked and picked[0] == self._break_target:
            crack = self._break_progress / max(1, B.HARDNESS[self.world.get(*picked[0])])
        render_view(frame, self.world.blocks, cfg.world.height, self.world.mask, self._mip_rgb,
                    self._mip_opaque, B.BLOCK_FACES, *p.eye, p.yaw, p.pitch, cfg.fov, cfg.fog_start,
                    cfg.fog_end, target, crack, self._sun, self._labels)
        self.hud.draw(frame, p.slot)
        self.hud.draw_labels(self._labels)
        return frame

    # -- one tick, in order -----------------------------------------------------------------
    def _select_hotbar(self, a: np.ndarray) -> None:
        for k in range(HOTBAR_SLOTS):
            if a[_I[f"hotbar.{k + 1}"]] > 0.5:
                self.player.slot = k

    def _look(self, a: np.ndarray) -> None:
        p = self.player
        p.yaw = (p.yaw + float(a[_I["camera.yaw"]])) % 360.0
        p.pitch = float(np.clip(p.pitch + a[_I["camera.pitch"]], -90.0, 90.0))

    def _move(self, a: np.ndarray) -> None:
        p = self.player
        forward = float(a[_I["forward"]] > 0.5) - float(a[_I["back"]] > 0.5)
        strafe = float(a[_I["right"]] > 0.5) - float(a[_I["left"]] > 0.5)
        speed = SNEAK if a[_I["sneak"]] > 0.5 else SPRINT if a[_I["sprint"]] > 0.5 and forward > 0 else WALK
        in_water = self.in_water
        if in_water:
            speed *= WATER_SLOWDOWN
        norm = math.hypot(forward, strafe)
        vx = vz = 0.0
        if norm > 0:
            yaw = math.radians(p.yaw)
            fx, fz = -math.sin(yaw), math.cos(yaw)
            rx, rz = -math.cos(yaw), -math.sin(yaw)
            vx = (forward * fx + strafe * rx) / norm * speed
            vz = (forward * fz + strafe * rz) / norm * speed

        jump = a[_I["jump"]] > 0.5
        if jump and p.on_ground and not in_water:
            p.vy = JUMP_VELOCITY
        # Minecraft moves first and applies gravity after, one axis at a time: y, then x, then z.
        moved_y = self._slide(1, p.vy)
        blocked = moved_y != p.vy
        p.on_ground = blocked and p.vy < 0
        if blocked:
            p.vy = 0.0
        if in_water:
            p.vy = (p.vy - WATER_GRAVITY) * WATER_DRAG + (SWIM_UP if jump else 0.0)
        else:
            p.vy = (p.vy - GRAVITY) * DRAG
        p.vy = max(-MAX_FALL, min(MAX_FALL, p.vy))
        self._slide(0, vx)
        self._slide(2, vz)

    def _interact(self, a: np.ndarray) -> None:
        picked = self.target()
        if a[_I["attack"]] > 0.5 and picked is not None:
            block_pos = picked[0]
            hardness = B.HARDNESS[self.world.get(*block_pos)]
            if block_pos != self._break_target:
                self._break_target, self._break_progress = block_pos, 0
            if hardness > 0:
                self._break_progress += 1
                if self._break_progress >= hardness:
                    self.world.set(*block_pos, B.AIR)
                    self._break_target, self._break_progress = None, 0
        else:
            self._break_target, self._break_progress = None, 0

        self._place_cooldown = max(0, self._place_cooldown - 1)
        if a[_I["use"]] > 0.5 and picked is not None and self._place_cooldown == 0:
            cell = picked[1]
            if (0 <= cell[1] < self.config.world.height and self.world.get(*cell) in (B.AIR, B.WATER)
                    and not self._player_overlaps(cell)):
                self.world.set(*cell, B.HOTBAR_BLOCKS[self.player.slot])
                self._place_cooldown = PLACE_COOLDOWN
        if a[_I["use"]] <= 0.5:
            self._place_cooldown = 0

    # -- collision --------------------------------------------------------------------------
    def _collides(self, x: float, y: float, z: float) -> bool:
        """Does the player's box with feet at (x, y, z) overlap a solid block?"""
        r = Player.WIDTH / 2
        for bx in range(math.floor(x - r), math.floor(x + r - 1e-9) + 1):
            for bz in range(math.floor(z - r), math.floor(z + r - 1e-9) + 1):
                for by in range(math.floor(y), math.floor(y + Player.HEIGHT - 1e-9) + 1):
                    if B.is_solid(self.world.get(bx, by, bz)):
                        return True
        return False

    def _slide(self, axis: int, delta: float) -> float:
        """Move along one axis, stopping flush against the first block in the way; return the move."""
        if delta == 0.0:
            return 0.0
        p = self.player
        start = (p.x, p.y, p.z)
        pos = list(start)
        pos[axis] += delta
        if not self._collides(*pos):
            p.x, p.y, p.z = pos
            return delta
        # Blocked: snap to the face of the blocking cell (|delta| < 1, so it is the next cell).
        if axis == 1:
            pos[1] = math.floor(pos[1]) + 1.0 if delta < 0 else math.floor(pos[1] + Player.HEIGHT) - Player.HEIGHT
        else:
            r = Player.WIDTH / 2
            pos[axis] = math.floor(pos[axis] - r) + 1.0 + r if delta < 0 else math.floor(pos[axis] + r) - r - 1e-7
        if (delta < 0) != (pos[axis] < start[axis]) or self._collides(*pos):
            return 0.0
        p.x, p.y, p.z = pos
        return pos[axis] - start[axis]

    def _player_overlaps(self, cell: tuple[int, int, int]) -> bool:
        p, r = self.player, Player.WIDTH / 2
        x, y, z = cell
        return (x < p.x + r and x + 1 > p.x - r and z < p.z + r and z + 1 > p.z - r
                and y < p.y + Player.HEIGHT and y + 1 > p.y)

    def _spawn_column(self) -> tuple[float, float]:
        """The first dry, open column (no tree, no outcrop) along a seeded direction from the origin."""
        rng = np.random.default_rng(self.seed + 1)
        angle = rng.uniform(0, 2 * math.pi)
        for r in range(0, 4000, 3):
            x, z = int(r * math.cos(angle)), int(r * math.sin(angle))
            height, outcrop = self.world.terrain.columns(np.array([x]), np.array([z]))
            if height[0] <= self.world.config.sea_level + 1 or outcrop[0]:
                continue
            self.world.ensure_loaded(x, z)
            if all(self.world.get(x + dx, int(height[0]) + dy, z + dz) == B.AIR
                   for dx in (-1, 0, 1) for dz in (-1, 0, 1) for dy in (1, 2, 3)):
                return x + 0.5, z + 0.5
        raise RuntimeError(f"seed {self.seed}: no dry land found to spawn on")

    def _settle(self) -> None:
        """Lift the player out of anything solid they spawned in (a tree trunk, say)."""
        p = self.player
        while self._collides(p.x, p.y, p.z) and p.y < self.config.world.height:
            p.y += 1.0
