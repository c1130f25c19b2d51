"""The pygame window: poll input, step the world, draw, tick. Serves the real game and world models alike."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from wm_video.errors import UserError

from .background import BackgroundEnv
from .keymap import HELP_TEXT, InputState, pygame


class NoDisplayError(UserError):
    pass


class Env(Protocol):
    def reset(self) -> np.ndarray: ...
    def step(self, action: np.ndarray) -> np.ndarray: ...


def check_display(instead: str = "`wm-video record` and `wm-video preview`") -> None:
    """Fail early, in one line, where no window can open (a server, CI, ssh without X)."""
    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("SDL_VIDEODRIVER")):
        raise NoDisplayError("no display to open a window on (DISPLAY is not set); "
                             f"run it on a desktop, or use {instead}")


class GameWindow:
    """Shows an env and feeds it the player's input.

    A plain env is stepped in the loop at ``fps``. A ``BackgroundEnv`` (a world model) steps on
    its own thread: the loop runs at the display rate, hands it the input gathered so far
    whenever it is free, and shows each frame as soon as it is ready.

    ``on_step(frame, action)`` sees each frame on screen with the action pressed on it.
    """

    def __init__(self, env: Env | BackgroundEnv, *, title: str, fps: float = 20.0, scale: int = 4,
                 on_step: Callable[[np.ndarray, np.ndarray], None] | None = None):
        check_display()
        pygame.init()
        self.env, self.scale, self.on_step = env, scale, on_step
        self.background = isinstance(env, BackgroundEnv)
        self.fps = 60.0 if self.background else fps
        self.frame = env.reset()
        h, w = self.frame.shape[:2]
        self.scale = max(scale, -(-512 // max(w, h)))  # at least 512 px on the long side
        try:
            self.screen = pygame.display.set_mode((w * self.scale, h * self.scale))
        except pygame.error as e:
            raise NoDisplayError(f"cannot open a window ({e})") from None
        pygame.display.set_caption(title)
        self.font = pygame.font.Font(None, 22)
        self.clock = pygame.time.Clock()
        self.input = InputState()
        self.paused = self.show_help = False
        self.running = True
        self.step_ms = 0.0  # last step's time (background: keypress-to-frame latency)
        self.frames = 0
        self.frame_times: list[float] = []

    def run(self, max_frames: int | None = None) -> None:
        """Play until the window closes (or ``max_frames`` frames, for tests)."""
        try:
            while self.running and (max_frames is None or self.frames < max_frames):
                self.poll()
                if not self.paused:
                    self.step()
                self.draw()
                self.clock.tick(self.fps)
        finally:
            self.close()

    def close(self) -> None:
        if self.background:
            self.env.wait()
        pygame.quit()

    def poll(self) -> None:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.running = False
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
                self._capture_mouse(False)
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_r:
                self.frame = self.env.reset()
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_p:
                self.paused = not self.paused
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_F1:
                self.show_help = not self.show_help
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_F12:
                self.screenshot()
            elif event.type == pygame.WINDOWFOCUSLOST:
                self.input.release_all()
            elif event.type == pygame.MOUSEBUTTONDOWN and not pygame.event.get_grab():
                self._capture_mouse(True)  # the first click only captures the mouse
            else:
                self.input.handle(event)

    def step(self) -> None:
        if self.background:
            result = self.env.poll()
            if result is not None:
                self._show(*result)
            if self.env.idle:
                self.env.submit(self._action())
            return
        action = self._action()
        start = time.perf_counter()
        frame = self.env.step(action)
        self._show(frame, (time.perf_counter() - start) * 1000)

    def _action(self) -> np.ndarray:
        action = self.input.action()
        if self.on_step:
            self.on_step(self.frame, action)
        return action

    def _show(self, frame: np.ndarray, ms: float) -> None:
        self.frame, self.step_ms = frame, ms
        self.frames += 1
        self.frame_times = (self.frame_times + [time.perf_counter()])[-30:]

    @property
    def frame_rate(self) -> float:
        """Frames shown per second over the last 30."""
        t = self.frame_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    def draw(self) -> None:
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(self.frame.transpose(1, 0, 2)))
        self.screen.blit(pygame.transform.scale(surface, self.screen.get_size()), (0, 0))
        what = "latency" if self.background else "step"
        status = f"{self.frame_rate:4.1f} fps  {what} {self.step_ms:4.0f} ms" + ("  PAUSED" if self.paused else "")
        self._text(status, (6, 6))
        if self.show_help:
            for i, line in enumerate(HELP_TEXT):
                self._text(line, (16, 40 + 22 * i))
        elif not pygame.event.get_grab():
            self._text("click to capture the mouse, F1 for help", (6, 26))
        pygame.display.flip()

    def screenshot(self, folder: str | Path = "screenshots") -> Path:
        path = Path(folder) / time.strftime("wm-video-%Y%m%d-%H%M%S.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.screen, str(path))
        print(f"saved {path}")
        return path

    def _text(self, text: str, pos: tuple[int, int]) -> None:
        shadow = self.font.render(text, True, (0, 0, 0))
        self.screen.blit(shadow, (pos[0] + 1, pos[1] + 1))
        self.screen.blit(self.font.render(text, True, (255, 255, 255)), pos)

    def _capture_mouse(self, on: bool) -> None:
        pygame.event.set_grab(on)
        pygame.mouse.set_visible(not on)
