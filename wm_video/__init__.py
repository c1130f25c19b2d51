"""wm-video: interactive video world models of Minecraft-like games, real time on a CPU."""

__version__ = "0.1.0"
