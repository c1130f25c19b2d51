"""Keyboard and mouse to the 25-dim action: a table of plain data, and one small class that reads it."""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import numpy as np  # noqa: E402
import pygame  # noqa: E402

from wm_video.actions import ACTION_INDEX, HOTBAR_SLOTS, empty_action  # noqa: E402

# Keys held down -> actions held (Minecraft's default controls).
HELD_KEYS = {
    pygame.K_w: "forward", pygame.K_s: "back", pygame.K_a: "left", pygame.K_d: "right",
    pygame.K_SPACE: "jump", pygame.K_LSHIFT: "sneak", pygame.K_LCTRL: "sprint",
    pygame.K_e: "inventory", pygame.K_q: "drop", pygame.K_f: "swapHands",
}
HOTBAR_KEYS = {getattr(pygame, f"K_{i}"): i for i in range(1, HOTBAR_SLOTS + 1)}
MOUSE_BUTTONS = {1: "attack", 2: "pickItem", 3: "use"}  # pygame: 1 left, 2 middle, 3 right
# Arrow keys turn the camera at a steady rate, in degrees per frame: (pitch, yaw).
ARROW_KEYS = {pygame.K_UP: (-3.0, 0.0), pygame.K_DOWN: (3.0, 0.0), pygame.K_LEFT: (0.0, -4.0),
              pygame.K_RIGHT: (0.0, 4.0)}
MOUSE_DEGREES_PER_PIXEL = 0.15  # VPT's camera scale


class InputState:
    """Collects pygame events between two frames and turns them into that frame's action.

    Key presses shorter than a frame still count: a hotbar key or a click is latched until
    the next ``action()`` call, so no input is lost however slow the frames come.
    """

    def __init__(self):
        self.held: set[str] = set()
        self.arrows: set[int] = set()
        self.pulses: set[str] = set()  # pressed at least once since the last frame
        self.mouse_pitch = 0.0
        self.mouse_yaw = 0.0
        self.slot = 0

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.KEYDOWN:
            if event.key in HELD_KEYS:
                self.held.add(HELD_KEYS[event.key])
                self.pulses.add(HELD_KEYS[event.key])
            elif event.key in HOTBAR_KEYS:
                self.select(HOTBAR_KEYS[event.key] - 1)
            elif event.key in ARROW_KEYS:
                self.arrows.add(event.key)
        elif event.type == pygame.KEYUP:
            self.held.discard(HELD_KEYS.get(event.key, ""))
            self.arrows.discard(event.key)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button in MOUSE_BUTTONS:
            self.held.add(MOUSE_BUTTONS[event.button])
            self.pulses.add(MOUSE_BUTTONS[event.button])
        elif event.type == pygame.MOUSEBUTTONUP and event.button in MOUSE_BUTTONS:
            self.held.discard(MOUSE_BUTTONS[event.button])
        elif event.type == pygame.MOUSEWHEEL and event.y:
            self.select((self.slot - int(np.sign(event.y))) % HOTBAR_SLOTS)  # wheel up: slot to the left
        elif event.type == pygame.MOUSEMOTION and pygame.event.get_grab():
            self.mouse_yaw += event.rel[0] * MOUSE_DEGREES_PER_PIXEL
            self.mouse_pitch += event.rel[1] * MOUSE_DEGREES_PER_PIXEL

    def select(self, slot: int) -> None:
        self.slot = slot
        self.pulses.add(f"hotbar.{slot + 1}")

    def release_all(self) -> None:
        """Forget held keys (the window lost focus: their key-up events will never come)."""
        self.held.clear()
        self.arrows.clear()

    def action(self) -> np.ndarray:
        """This frame's action; clears what was latched since the last one."""
        a = empty_action()
        for name in self.held | self.pulses:
            a[ACTION_INDEX[name]] = 1.0
        pitch, yaw = self.mouse_pitch, self.mouse_yaw
        for key in self.arrows:
            dp, dy = ARROW_KEYS[key]
            pitch, yaw = pitch + dp, yaw + dy
        a[ACTION_INDEX["camera.pitch"]] = pitch
        a[ACTION_INDEX["camera.yaw"]] = yaw
        self.pulses.clear()
        self.mouse_pitch = self.mouse_yaw = 0.0
        return a


HELP_TEXT = (
    "W A S D  move        mouse / arrows  look",
    "space  jump          shift  sneak    ctrl  sprint",
    "left click  break    right click  place",
    "1-9 / wheel  hotbar  click  capture mouse",
    "esc  free mouse      R  restart      P  pause",
    "F1  this help        F12  screenshot",
)
