"""Interactive front ends (pygame): play the built-in game or a world model."""
