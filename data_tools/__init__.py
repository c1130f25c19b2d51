"""Gameplay data: the built-in game, the scripted recorder, importers and the dataset format."""
