"""Block types and their 16x16 textures, drawn in code (no image files to ship or download)."""

from __future__ import annotations

import numpy as np

# Block ids. AIR must be 0: a fresh world array is all air.
AIR, GRASS, DIRT, STONE, SAND, WATER, LOG, LEAVES, PLANKS, COBBLESTONE, BRICKS = range(11)
BLOCK_NAMES = ("air", "grass", "dirt", "stone", "sand", "water", "log", "leaves", "planks",
               "cobblestone", "bricks")
NUM_BLOCKS = len(BLOCK_NAMES)

# Classes of the label map the game renders beside each frame: what each pixel shows. Block ids keep
# their value (air is never drawn, so 0 means sky) and the heads-up display comes after them.
SKY_LABEL, HUD_LABEL = AIR, NUM_BLOCKS
LABEL_NAMES = ("sky",) + BLOCK_NAMES[1:] + ("hud",)

# What the nine hotbar slots hold, as in a creative-mode hotbar.
HOTBAR_BLOCKS = (GRASS, DIRT, STONE, SAND, LOG, LEAVES, PLANKS, COBBLESTONE, BRICKS)

# Frames of holding attack before a block breaks (0: cannot be broken).
HARDNESS = np.array([0, 6, 5, 12, 5, 0, 10, 3, 8, 12, 12], dtype=np.int64)

# Texture ids, one 16x16 RGB image each.
(T_GRASS_TOP, T_GRASS_SIDE, T_DIRT, T_STONE, T_SAND, T_WATER, T_LOG_SIDE, T_LOG_TOP, T_LEAVES,
 T_PLANKS, T_COBBLESTONE, T_BRICKS) = range(12)

# (top, side, bottom) texture of each block.
BLOCK_FACES = np.array([
    [0, 0, 0],  # air: never drawn
    [T_GRASS_TOP, T_GRASS_SIDE, T_DIRT],
    [T_DIRT, T_DIRT, T_DIRT],
    [T_STONE, T_STONE, T_STONE],
    [T_SAND, T_SAND, T_SAND],
    [T_WATER, T_WATER, T_WATER],
    [T_LOG_TOP, T_LOG_SIDE, T_LOG_TOP],
    [T_LEAVES, T_LEAVES, T_LEAVES],
    [T_PLANKS, T_PLANKS, T_PLANKS],
    [T_COBBLESTONE, T_COBBLESTONE, T_COBBLESTONE],
    [T_BRICKS, T_BRICKS, T_BRICKS],
], dtype=np.int64)


def is_solid(block: int) -> bool:
    """Solid blocks stop the player and rays of the block picker; air and water do not."""
    return block != AIR and block != WATER


def _speckle(rng: np.random.Generator, base: tuple[int, int, int], spread: float) -> np.ndarray:
    """A flat colour with per-texel brightness noise: the look of most Minecraft blocks."""
    shade = 1.0 + spread * rng.uniform(-1.0, 1.0, size=(16, 16, 1))
    return np.clip(np.array(base, dtype=np.float64) * shade, 0, 255)


def make_textures() -> tuple[np.ndarray, np.ndarray]:
    """Return ``(rgb, opaque)``: ``rgb`` is (12, 16, 16, 3) uint8, ``opaque`` (12, 16, 16) bool.

    Texture rows run top to bottom. A fixed seed makes every texel the same in any process.
    """
    rng = np.random.default_rng(1234)
    tex = np.zeros((12, 16, 16, 3))
    opaque = np.ones((12, 16, 16), dtype=bool)
    yy, xx = np.mgrid[0:16, 0:16]

    tex[T_GRASS_TOP] = _speckle(rng, (95, 159, 53), 0.14)
    tex[T_DIRT] = _speckle(rng, (134, 96, 67), 0.15)
    side = _speckle(rng, (134, 96, 67), 0.15)
    # Grass hangs 3-5 texels down the side, ragged like Minecraft's.
    fringe = 3 + rng.integers(0, 3, size=16)
    grass = yy < fringe[None, :]
    side[grass] = _speckle(rng, (95, 159, 53), 0.15)[grass]
    tex[T_GRASS_SIDE] = side

    stone = _speckle(rng, (125, 125, 125), 0.10)
    cracks = rng.uniform(size=(16, 16)) < 0.10
    stone[cracks] *= 0.72
    tex[T_STONE] = stone
    tex[T_SAND] = _speckle(rng, (219, 207, 163), 0.07)
    water = _speckle(rng, (47, 84, 196), 0.06)
    water[(yy + xx // 4) % 5 == 0] *= 1.18  # ripples
    tex[T_WATER] = np.clip(water, 0, 255)

    bark = _speckle(rng, (102, 81, 49), 0.10)
    bark[(xx % 4 == 0)] *= 0.7  # vertical grooves
    tex[T_LOG_SIDE] = bark
    ring = np.hypot(yy - 7.5, xx - 7.5)
    top = _speckle(rng, (176, 143, 87), 0.06)
    top[(ring.astype(int) % 3 == 0)] *= 0.8
    top[ring > 6.5] = bark[ring > 6.5]
    tex[T_LOG_TOP] = top

    tex[T_LEAVES] = _speckle(rng, (58, 120, 38), 0.30)
    opaque[T_LEAVES] = rng.uniform(size=(16, 16)) > 0.18  # see-through gaps

    planks = _speckle(rng, (162, 130, 78), 0.06)
    planks[yy % 4 == 3] *= 0.65  # board seams
    planks[(yy % 8 < 4) & (xx == 5)] *= 0.7
    planks[(yy % 8 >= 4) & (xx == 12)] *= 0.7
    tex[T_PLANKS] = planks

    cobble = _speckle(rng, (122, 122, 122), 0.12)
    cells = rng.uniform(size=(5, 5))  # stones of varied shade, with dark mortar between
    cobble *= (0.8 + 0.4 * cells[yy // 4 + (xx % 3 == 0), xx // 4 + (yy % 3 == 0)])[..., None]
    cobble[(yy % 4 == 0) | ((xx + 2 * (yy // 4)) % 5 == 0)] *= 0.6
    tex[T_COBBLESTONE] = cobble

    bricks = _speckle(rng, (150, 74, 58), 0.10)
    mortar = (yy % 4 == 3) | (((xx + 4 * ((yy // 4) % 2)) % 8) == 7)
    bricks[mortar] = _speckle(rng, (180, 172, 160), 0.05)[mortar]
    tex[T_BRICKS] = bricks

    return np.clip(tex, 0, 255).astype(np.uint8), opaque


MIP_LEVELS = 5  # 16x16 down to 1x1


def make_mipmaps(rgb: np.ndarray, opaque: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box-filtered mip levels, each stored back at 16x16 so a texel is indexed the same at every level.

    Returns ``(rgb (L, T, 16, 16, 3) float32, opaque (L, T, 16, 16) bool)``. Far surfaces sample a
    coarser level, as Minecraft's mipmapping does, so they do not shimmer into pixel noise.
    """
    levels_rgb, levels_opaque = [], []
    colour, cover = rgb.astype(np.float64), opaque.astype(np.float64)
    for level in range(MIP_LEVELS):
        k = 2**level
        t = rgb.shape[0]
        # Average colour over opaque texels only, so leaves' holes do not darken them.
        weight = cover.reshape(t, 16 // k, k, 16 // k, k)
        col = (colour * cover[..., None]).reshape(t, 16 // k, k, 16 // k, k, 3).sum((2, 4))
        col = col / np.maximum(weight.sum((2, 4)), 1e-9)[..., None]
        cov = weight.mean((2, 4))
        levels_rgb.append(np.repeat(np.repeat(col, k, 1), k, 2))
        levels_opaque.append(np.repeat(np.repeat(cov >= 0.5, k, 1), k, 2))
    return np.stack(levels_rgb).astype(np.float32), np.stack(levels_opaque)
