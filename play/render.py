"""``wm-video render``: a rollout written to a video, optionally beside the real game under the same actions.

A prompt gives the first frames (the real game from a seed, a dataset episode, or any video);
actions come from a JSON-lines file (``import-video``'s format) or from the scripted explorer
playing the real game, which then also supplies the real frames for ``--compare``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from data_tools.importing import named_actions, read_jsonl
from wm_video.errors import UserError
from wm_video.rollout import RolloutConfig, WorldSession
from wm_video.video import write_video
from wm_video.world_model import PROMPT_FRAMES, WorldModel

from .prompts import Prompt, make_prompt


def action_stream(prompt: Prompt, actions_file: str | None,
                  frames: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yields ``(action, real frame after it or None)`` for ``frames`` steps."""
    if actions_file is not None:
        actions, _ = named_actions(read_jsonl(Path(actions_file)), Path(actions_file))
        if len(actions) < frames:
            raise UserError(f"{actions_file}: {len(actions)} actions for {frames} frames")
        for a in actions[:frames]:
            yield a, prompt.game.step(a) if prompt.game else None
    elif prompt.recorded is not None:
        real, recorded_actions = prompt.recorded
        n = min(frames, len(real))
        for i in range(n):
            yield recorded_actions[i], real[i]
    elif prompt.game is not None:
        a = prompt.actions[-1]  # the player's action on the last prompt frame
        for _ in range(frames):
            yield a, prompt.game.step(a)
            a = prompt.player.act(prompt.game)
    else:
        raise UserError("a video prompt needs --actions FILE.jsonl (its actions are unknown)")


def render(model: str | Path, out: str | Path, *, prompt: str = "game:0", actions: str | None = None,
           frames: int = 200, compare: bool = False, upscale: int = 2, rollout: RolloutConfig | None = None) -> int:
    world = WorldModel.load(model)
    session = WorldSession(world, rollout)
    p = make_prompt(prompt, world, length=min(PROMPT_FRAMES, session.rollout.window - 1))
    if compare and p.game is None and p.recorded is None:
        raise UserError("--compare needs a game:SEED or dataset:DIR:EPISODE prompt (a real game to compare with)")
    session.reset(p.frames, p.actions)

    def video() -> Iterator[np.ndarray]:
        for frame in p.frames:  # the prompt itself, shown on both sides
            yield _layout(frame, frame if compare else None, upscale)
        for action, real in tqdm(action_stream(p, actions, frames), total=frames, desc="render", unit="frame"):
            yield _layout(session.step(action), real if compare else None, upscale)

    return write_video(out, video(), fps=world.info.fps)


def _layout(imagined: np.ndarray, real: np.ndarray | None, upscale: int) -> np.ndarray:
    """Real | imagined side by side (with a thin divider), upscaled without smoothing."""
    if real is not None:
        divider = np.full((imagined.shape[0], 2, 3), 255, np.uint8)
        imagined = np.concatenate([real, divider, imagined], axis=1)
    if upscale > 1:
        imagined = cv2.resize(imagined, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
    return imagined
