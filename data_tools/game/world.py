"""An endless seeded voxel world, generated in 16x16 chunks around the player.

Terrain is a pure function of ``(seed, x, z)`` built from integer-hashed value noise, so
every process generates the same world. Loaded chunks live in a ring buffer
``blocks[x mod N, z mod N, y]``: the renderer indexes it with a bit mask and never sees
chunk boundaries. Blocks the player breaks or places are kept as edits and re-applied when
a chunk is generated again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .blocks import AIR, DIRT, GRASS, LEAVES, LOG, SAND, STONE, WATER

CHUNK = 16


@dataclass(frozen=True)
class WorldConfig:
    height: int = 64  # blocks from bedrock to sky
    ring: int = 128  # ring-buffer side in blocks (a power of two, a multiple of CHUNK)
    load_radius: int = 3  # chunks kept loaded on each side of the player's chunk
    sea_level: int = 20
    tree_density: float = 0.012  # chance that a grass column roots a tree


def _hash(ix: np.ndarray, iz: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """Integer coordinates -> uniform floats in [0, 1); a stateless hash, same in every process."""
    h = (ix.astype(np.int64) * 374761393 + iz.astype(np.int64) * 668265263
         + (seed * 2654435761 + salt * 974711) % (1 << 31)).astype(np.uint64)
    h = h & np.uint64(0xFFFFFFFF)
    h = (h ^ (h >> np.uint64(13))) * np.uint64(1274126177) & np.uint64(0xFFFFFFFF)
    h = h ^ (h >> np.uint64(16))
    return h.astype(np.float64) / 4294967296.0


def _value_noise(x: np.ndarray, z: np.ndarray, scale: float, seed: int, salt: int) -> np.ndarray:
    """Smooth noise in [0, 1): hashed lattice values blended with a smoothstep."""
    fx, fz = x / scale, z / scale
    x0, z0 = np.floor(fx), np.floor(fz)
    tx, tz = fx - x0, fz - z0
    tx, tz = tx * tx * (3 - 2 * tx), tz * tz * (3 - 2 * tz)
    x0, z0 = x0.astype(np.int64), z0.astype(np.int64)
    v00, v10 = _hash(x0, z0, seed, salt), _hash(x0 + 1, z0, seed, salt)
    v01, v11 = _hash(x0, z0 + 1, seed, salt), _hash(x0 + 1, z0 + 1, seed, salt)
    return (v00 * (1 - tx) + v10 * tx) * (1 - tz) + (v01 * (1 - tx) + v11 * tx) * tz


class Terrain:
    """Where the ground is, what covers it, and where trees grow: all pure functions of the seed."""

    def __init__(self, seed: int, config: WorldConfig):
        self.seed, self.config = seed, config

    def columns(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ground height (top solid block's y) and an outcrop mask for columns ``(x, z)``."""
        s = self.seed
        hilliness = _value_noise(x, z, 96.0, s, 1) ** 2  # plains where low, hills where high
        detail = (_value_noise(x, z, 48.0, s, 2) * 0.6 + _value_noise(x, z, 20.0, s, 3) * 0.3
                  + _value_noise(x, z, 8.0, s, 4) * 0.1)
        continent = _value_noise(x, z, 160.0, s, 5)  # lakes and seas where low
        height = (self.config.sea_level - 6 + 14 * continent + 26 * hilliness * detail
                  + 3 * detail)
        outcrop = _value_noise(x, z, 14.0, s, 6) * (0.4 + hilliness) > 0.62
        height = height + np.where(outcrop, 3.0, 0.0)
        height = np.clip(np.floor(height), 1, self.config.height - 12).astype(np.int64)
        return height, outcrop

    def chunk(self, cx: int, cz: int) -> np.ndarray:
        """Generate chunk ``(cx, cz)`` as a (16, 16, height) uint8 array indexed [x, z, y]."""
        cfg = self.config
        m = 3  # margin so trees rooted in neighbouring chunks reach into this one
        xs = np.arange(cx * CHUNK - m, (cx + 1) * CHUNK + m)
        zs = np.arange(cz * CHUNK - m, (cz + 1) * CHUNK + m)
        X, Z = np.meshgrid(xs, zs, indexing="ij")
        height, outcrop = self.columns(X, Z)

        y = np.arange(cfg.height)[None, None, :]
        h = height[m:-m, m:-m, None]
        top_kind = np.where(outcrop[m:-m, m:-m], STONE,
                            np.where(height[m:-m, m:-m] <= cfg.sea_level, SAND, GRASS))[..., None]
        under_kind = np.where(top_kind == GRASS, DIRT, top_kind)
        layer = np.where(y == h, top_kind, np.where(y > h - 4, under_kind, STONE))
        out = np.where(y <= h, layer, np.where(y <= cfg.sea_level, WATER, AIR)).astype(np.uint8)

        # Trees: a hashed chance per grass column; trunks 4-6 blocks, a leaf blob on top.
        roll = _hash(X, Z, self.seed, 7)
        grows = (roll < cfg.tree_density) & ~outcrop & (height > cfg.sea_level + 1)
        for i, k in zip(*np.nonzero(grows), strict=True):
            tx, tz, ground = i - m, k - m, int(height[i, k])
            trunk = 4 + int(roll[i, k] / cfg.tree_density * 3)
            top = ground + trunk
            if top + 2 >= cfg.height:
                continue
            for dy in range(-2, 2):
                r = 2 if dy < 0 else 1
                for dx in range(-r, r + 1):
                    for dz in range(-r, r + 1):
                        if r == 2 and abs(dx) == 2 and abs(dz) == 2:
                            continue  # round the corners
                        lx, lz = tx + dx, tz + dz
                        if 0 <= lx < CHUNK and 0 <= lz < CHUNK and out[lx, lz, top + dy] == AIR:
                            out[lx, lz, top + dy] = LEAVES
            if 0 <= tx < CHUNK and 0 <= tz < CHUNK:
                out[tx, tz, ground + 1:top] = LOG
                out[tx, tz, ground] = DIRT
        return out


class World:
    """The loaded part of the world plus the player's edits."""

    def __init__(self, seed: int, config: WorldConfig | None = None):
        self.config = config or WorldConfig()
        cfg = self.config
        if cfg.ring & (cfg.ring - 1) or cfg.ring % CHUNK:
            raise ValueError(f"ring must be a power of two and a multiple of {CHUNK}, got {cfg.ring}")
        if (2 * cfg.load_radius + 1) * CHUNK > cfg.ring:
            raise ValueError("load_radius does not fit in the ring buffer")
        self.terrain = Terrain(seed, cfg)
        self.blocks = np.zeros((cfg.ring, cfg.ring, cfg.height), dtype=np.uint8)
        slots = cfg.ring // CHUNK
        self._slot_owner = np.full((slots, slots, 2), np.iinfo(np.int64).min, dtype=np.int64)
        self._edits: dict[tuple[int, int], dict[tuple[int, int, int], int]] = {}

    @property
    def mask(self) -> int:
        return self.config.ring - 1

    def ensure_loaded(self, x: float, z: float) -> int:
        """Generate the chunks around ``(x, z)`` that are not loaded yet; return how many."""
        pcx, pcz = int(np.floor(x)) // CHUNK, int(np.floor(z)) // CHUNK
        slots = self.config.ring // CHUNK
        r = self.config.load_radius
        loaded = 0
        for cx in range(pcx - r, pcx + r + 1):
            for cz in range(pcz - r, pcz + r + 1):
                sx, sz = cx % slots, cz % slots
                if self._slot_owner[sx, sz, 0] == cx and self._slot_owner[sx, sz, 1] == cz:
                    continue
                chunk = self.terrain.chunk(cx, cz)
                for (lx, y, lz), block in self._edits.get((cx, cz), {}).items():
                    chunk[lx, lz, y] = block
                self.blocks[sx * CHUNK:(sx + 1) * CHUNK, sz * CHUNK:(sz + 1) * CHUNK] = chunk
                self._slot_owner[sx, sz] = (cx, cz)
                loaded += 1
        return loaded

    def get(self, x: int, y: int, z: int) -> int:
        if y < 0:
            return STONE  # bedrock
        if y >= self.config.height:
            return AIR
        return int(self.blocks[x & self.mask, z & self.mask, y])

    def set(self, x: int, y: int, z: int, block: int) -> None:
        if not 0 <= y < self.config.height:
            raise ValueError(f"y={y} is outside the world (0..{self.config.height - 1})")
        cx, cz = x // CHUNK, z // CHUNK
        self._edits.setdefault((cx, cz), {})[(x - cx * CHUNK, y, z - cz * CHUNK)] = block
        self.blocks[x & self.mask, z & self.mask, y] = block

    def ground_height(self, x: int, z: int) -> int:
        height, _ = self.terrain.columns(np.array([x]), np.array([z]))
        return int(height[0])
