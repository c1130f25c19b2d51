"""The action layout shared by every part of wm-video: the 25-dim Oasis/VPT vector.

One frame's action is a float vector of 25 entries in the order of ``ACTION_NAMES``.
Buttons are 0 (released) or 1 (held). The two camera entries are degrees turned during
that frame, in Minecraft's conventions:

* ``camera.pitch``: positive looks *down* (Minecraft's pitch grows toward the feet).
* ``camera.yaw``: positive turns *right* (clockwise seen from above).

Oasis calls these two entries ``cameraX`` and ``cameraY`` although the first is pitch
(their issue #35); VPT computes them as ``[mouse.dy * 0.15, mouse.dx * 0.15]``.

Row ``t`` of a dataset holds the action pressed while frame ``t`` was on screen, so
frame ``t + 1`` is what the game showed after applying action ``t`` (VPT's convention).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ActionSpec:
    name: str
    unit: str
    description: str


HOTBAR_SLOTS = 9

ACTION_SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("inventory", "button", "open the inventory (E)"),
    ActionSpec("ESC", "button", "escape / pause menu"),
    *(ActionSpec(f"hotbar.{i}", "button", f"select hotbar slot {i}") for i in range(1, HOTBAR_SLOTS + 1)),
    ActionSpec("forward", "button", "walk forward (W)"),
    ActionSpec("back", "button", "walk backward (S)"),
    ActionSpec("left", "button", "strafe left (A)"),
    ActionSpec("right", "button", "strafe right (D)"),
    ActionSpec("camera.pitch", "degrees/frame", "look down (+) or up (-)"),
    ActionSpec("camera.yaw", "degrees/frame", "turn right (+) or left (-)"),
    ActionSpec("jump", "button", "jump, or swim up in water (space)"),
    ActionSpec("sneak", "button", "sneak: walk slowly (shift)"),
    ActionSpec("sprint", "button", "sprint: walk fast (ctrl)"),
    ActionSpec("swapHands", "button", "swap main and off hand (F)"),
    ActionSpec("attack", "button", "hold to break the targeted block (left click)"),
    ActionSpec("use", "button", "place the selected block (right click)"),
    ActionSpec("pickItem", "button", "pick the targeted block into the hotbar (middle click)"),
    ActionSpec("drop", "button", "drop the held item (Q)"),
)

ACTION_NAMES: tuple[str, ...] = tuple(spec.name for spec in ACTION_SPECS)
ACTION_DIM = len(ACTION_NAMES)
ACTION_INDEX: dict[str, int] = {name: i for i, name in enumerate(ACTION_NAMES)}
CAMERA_NAMES = ("camera.pitch", "camera.yaw")
BUTTON_NAMES: tuple[str, ...] = tuple(n for n in ACTION_NAMES if n not in CAMERA_NAMES)

assert ACTION_DIM == 25


def empty_action() -> np.ndarray:
    """The no-op action: nothing pressed, camera still."""
    return np.zeros(ACTION_DIM, dtype=np.float32)


def action_from_dict(values: Mapping[str, float]) -> np.ndarray:
    """Build an action vector from ``{name: value}``; missing names are 0.

    Raises ``KeyError`` naming the first unknown action name.
    """
    action = empty_action()
    for name, value in values.items():
        if name not in ACTION_INDEX:
            raise KeyError(name)
        action[ACTION_INDEX[name]] = float(value)
    return action


def action_to_dict(action: np.ndarray, *, skip_zeros: bool = True) -> dict[str, float]:
    """The inverse of ``action_from_dict``; zeros are left out unless asked for."""
    action = np.asarray(action, dtype=np.float32)
    if action.shape != (ACTION_DIM,):
        raise ValueError(f"an action has shape ({ACTION_DIM},), got {action.shape}")
    return {n: float(v) for n, v in zip(ACTION_NAMES, action, strict=True) if v != 0 or not skip_zeros}


def is_pressed(action: np.ndarray, name: str) -> bool:
    return bool(action[ACTION_INDEX[name]] > 0.5)
