import numpy as np
import pytest

from data_tools.game import Game

from .test_game import SMALL


@pytest.fixture
def window(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from play.window import GameWindow

    return GameWindow(Game(3, SMALL), title="test")


def post(*events):
    import pygame

    for kind, attrs in events:
        pygame.event.post(pygame.event.Event(kind, attrs))


def test_headless_window_responds_to_scripted_keys(window, tmp_path):
    import pygame

    player = window.env.player
    start = (player.x, player.z, player.yaw)
    first = window.frame.copy()
    post((pygame.KEYDOWN, {"key": pygame.K_w}), (pygame.KEYDOWN, {"key": pygame.K_3}))
    for _ in range(6):
        window.poll()
        window.step()
    post((pygame.KEYUP, {"key": pygame.K_w}), (pygame.MOUSEWHEEL, {"x": 0, "y": -1}))
    window.poll()
    window.step()
    moved = np.hypot(player.x - start[0], player.z - start[1])
    assert moved > 0.5  # six frames of walking
    assert player.slot == 3  # key 3, then the wheel one slot to the right
    assert not np.array_equal(window.frame, first)

    x = player.x
    for _ in range(3):
        window.poll()
        window.step()
    assert player.x == x  # W released: standing still

    post((pygame.KEYDOWN, {"key": pygame.K_p}))
    window.poll()
    assert window.paused
    window.draw()
    assert window.screenshot(tmp_path).exists()
    post((pygame.KEYDOWN, {"key": pygame.K_p}))
    before = window.frames
    window.run(max_frames=before + 2)  # the real loop: unpauses, steps twice, closes
    assert not window.paused and window.frames == before + 2


def test_short_clicks_between_frames_are_not_lost():
    import pygame

    from play.keymap import InputState
    from wm_video.actions import ACTION_INDEX

    state = InputState()
    state.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 3}))
    state.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, {"button": 3}))
    a = state.action()
    assert a[ACTION_INDEX["use"]] == 1
    assert state.action()[ACTION_INDEX["use"]] == 0  # only once
    state.handle(pygame.event.Event(pygame.KEYDOWN, {"key": pygame.K_LEFT}))
    assert state.action()[ACTION_INDEX["camera.yaw"]] < 0 and state.action()[ACTION_INDEX["camera.yaw"]] < 0
    state.handle(pygame.event.Event(pygame.KEYUP, {"key": pygame.K_LEFT}))
    assert state.action()[ACTION_INDEX["camera.yaw"]] == 0
