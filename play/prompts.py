"""Prompts: the first frames a rollout starts from (the real game from a seed, a dataset episode, any video)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from data_tools.dataset import read_episode
from data_tools.game import Game, GameConfig
from data_tools.importing import fit_frame
from data_tools.record import play
from data_tools.scripted_player import ScriptedPlayer
from wm_video.actions import ACTION_DIM
from wm_video.errors import UserError
from wm_video.video import iter_video
from wm_video.world_model import WorldModel


@dataclass
class Prompt:
    frames: np.ndarray  # (P, H, W, 3) uint8
    actions: np.ndarray  # (P, 25): pressed on each prompt frame; the last is the first one rendered
    game: Game | None = None  # the real game, on the last prompt frame (its action not yet played)
    player: ScriptedPlayer | None = None
    recorded: tuple[np.ndarray, np.ndarray] | None = None  # a dataset's frames and actions after the prompt


def make_prompt(spec: str, world: WorldModel, length: int) -> Prompt:
    """``game:SEED``, ``dataset:DIR:EPISODE`` or ``VIDEO.mp4`` -> the first ``length`` frames."""
    h, w = world.vae.config.image_size
    if spec.startswith("game:"):
        seed = _int(spec[5:], spec)
        game = Game(seed, replace(GameConfig(), width=w, height=h))
        player = ScriptedPlayer(seed)
        played = play(game, player, length)
        return Prompt(played.frames, played.actions, game=game, player=player)
    if spec.startswith("dataset:"):
        root, _, episode = spec[8:].rpartition(":")
        ep = read_episode(root, _int(episode, spec))
        if ep.frames.shape[1:3] != (h, w):
            raise UserError(f"{root}: frames are {ep.frames.shape[2]}x{ep.frames.shape[1]}, the model plays {w}x{h}")
        if len(ep) <= length:
            raise UserError(f"{root}: episode {episode} has {len(ep)} frames, fewer than a {length}-frame prompt")
        return Prompt(ep.frames[:length], ep.actions[:length], recorded=(ep.frames[length:], ep.actions[length - 1:]))
    frames = []
    for frame in iter_video(spec):
        frames.append(fit_frame(frame, w, h))
        if len(frames) == length:
            break
    return Prompt(np.stack(frames), np.zeros((len(frames), ACTION_DIM), np.float32))


def _int(text: str, spec: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"bad prompt {spec!r}: expected game:SEED, dataset:DIR:EPISODE or a video file") from None
