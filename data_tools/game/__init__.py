"""The built-in Minecraft-like voxel game: our source of training data and of ground truth."""

from .game import FPS, GAME_VERSION, Game, GameConfig

__all__ = ["FPS", "GAME_VERSION", "Game", "GameConfig"]
