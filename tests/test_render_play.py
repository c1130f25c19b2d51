import json
import sys

import numpy as np
import pytest

from data_tools.game import Game
from play.render import render
from wm_video.actions import action_from_dict
from wm_video.errors import UserError
from wm_video.precision import decide
from wm_video.rollout import RolloutConfig, WorldSession
from wm_video.video import iter_video, write_video
from wm_video.world_model import WorldModel


def test_session_makes_frames_that_depend_on_actions_and_seed(tiny_world):
    world = WorldModel.load(tiny_world)
    prompt = np.stack([Game(1).reset()[::4, ::4] for _ in range(3)])
    frames = {}
    for name, action in (("still", {}), ("turn", {"camera.yaw": 10.0, "forward": 1})):
        s = WorldSession(world, RolloutConfig(steps=2, seed=0))
        s.reset(prompt, np.zeros((3, 25), np.float32))
        frames[name] = np.stack([s.step(action_from_dict(action)) for _ in range(4)])
    assert frames["still"].shape == (4, 32, 32, 3) and frames["still"].dtype == np.uint8
    assert not np.array_equal(frames["still"], frames["turn"])
    with pytest.raises(ValueError, match="prompt frames must be"):
        s.reset(np.zeros((2, 64, 64, 3), np.uint8), np.zeros((2, 25), np.float32))


def test_a_compiled_session_makes_the_frames_of_an_eager_one(tiny_world):
    world = WorldModel.load(tiny_world)
    prompt = np.stack([Game(1).reset()[::4, ::4] for _ in range(3)])
    turn = action_from_dict({"camera.yaw": 10.0, "forward": 1})
    frames = []
    for compile in (False, True):
        s = WorldSession(world, RolloutConfig(steps=2, seed=0), compile=compile)
        s.reset(prompt, np.zeros((3, 25), np.float32))
        frames.append(np.stack([s.step(turn) for _ in range(6)]).astype(int))
    assert np.abs(frames[0] - frames[1]).mean() < 2  # the same dtype either way; compiled kernels round differently


def test_render_compare_writes_real_beside_imagined(tiny_world, tmp_path):
    out = tmp_path / "r.mp4"
    n = render(tiny_world, out, prompt="game:3", frames=6, compare=True, upscale=2, rollout=RolloutConfig(steps=2))
    frames = list(iter_video(out))
    assert n == len(frames) == 7 + 6  # prompt (window - 1) + imagined
    assert frames[0].shape == (64, 2 * (2 * 32 + 2), 3)
    gif = tmp_path / "r.gif"
    render(tiny_world, gif, prompt="game:3", frames=3, upscale=1, rollout=RolloutConfig(steps=1))
    assert gif.stat().st_size > 0


def test_render_follows_an_actions_file_and_a_video_prompt(tiny_world, tmp_path):
    actions = tmp_path / "a.jsonl"
    actions.write_text("".join(json.dumps({"forward": 1, "camera.yaw": 3}) + "\n" for _ in range(5)))
    video = tmp_path / "v.mp4"
    write_video(video, [np.full((48, 64, 3), 60 * i, np.uint8) for i in range(4)])
    assert render(tiny_world, tmp_path / "o.mp4", prompt=str(video), actions=str(actions), frames=5) == 4 + 5
    with pytest.raises(UserError, match="needs --actions"):
        render(tiny_world, tmp_path / "o2.mp4", prompt=str(video), frames=5)
    with pytest.raises(UserError, match="--compare needs"):
        render(tiny_world, tmp_path / "o3.mp4", prompt=str(video), actions=str(actions), frames=5, compare=True)
    assert not (tmp_path / "o2.mp4").exists() and not (tmp_path / "o3.mp4").exists()


def test_render_from_a_dataset_episode(tiny_world, tiny_dataset, tmp_path):
    n = render(tiny_world, tmp_path / "d.mp4", prompt=f"dataset:{tiny_dataset}:1", frames=50, compare=True)
    assert n == 12  # the episode's 12 frames: 7 prompt, then its 5 recorded actions


def test_play_headless_with_a_model_on_a_worker_thread(tiny_world, tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame

    from play.background import BackgroundEnv
    from play.model_game import ModelGame, SessionRecorder
    from play.window import GameWindow

    recorder = SessionRecorder(tmp_path / "session", fps=20)
    game = ModelGame(WorldModel.load(tiny_world), seed=2, rollout=RolloutConfig(steps=1), compile=False)
    window = GameWindow(BackgroundEnv(game), title="t", on_step=recorder)
    first = window.frame.copy()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, {"key": pygame.K_w}))
    for _ in range(200):
        window.poll()
        window.step()
        window.draw()
        if window.frames >= 5:
            break
        pygame.time.wait(5)
    assert window.frames >= 5 and window.step_ms > 0
    assert not np.array_equal(window.frame, first)
    assert any(a[11] == 1 for a in recorder.actions)  # W reached the model as "forward"
    window.close()
    saved = recorder.save()
    assert len(list(iter_video(saved / "session.mp4"))) == len(recorder.actions)
    lines = (saved / "session.jsonl").read_text().splitlines()
    assert len(lines) == len(recorder.actions) and json.loads(lines[-1]).get("forward") == 1.0


def test_without_pyav_videos_are_still_written(tmp_path, monkeypatch):
    frames = [np.full((48, 64, 3), 60 * i, np.uint8) for i in range(4)]
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "av", None)  # `import av` raises ImportError, as on a bare GPU image
        write_video(tmp_path / "v.mp4", frames)
    assert len(list(iter_video(tmp_path / "v.mp4"))) == 4


def test_play_says_once_in_a_line_when_its_first_frames_run_below_real_time(tiny_world, monkeypatch, capsys):
    import play.model_game as model_game

    game = model_game.ModelGame(WorldModel.load(tiny_world), seed=2, rollout=RolloutConfig(steps=1), compile=False)
    game.reset()
    monkeypatch.setattr(model_game, "REAL_TIME_FPS", 1e9)  # no machine makes that: this one is "slow"
    monkeypatch.setattr(model_game, "compute_precision",
                        lambda device=None: decide("bf16", native=False, what="this AVX2 CPU"))
    for _ in range(2 * model_game.TIMED_STEPS):
        game.step(np.zeros(25, np.float32))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("play: ") and "frames/s here, below real time" in lines[0]
    assert "--precision auto: this machine computes faster in fp32" in lines[0]
    monkeypatch.setattr(model_game, "compute_precision",
                        lambda device=None: decide("auto", native=False, what="this AVX2 CPU"))
    assert "4.2 frames/s here" in model_game.slow_play_note(4.2) and "--steps 2" in model_game.slow_play_note(4.2)


def test_a_game_prompt_and_renders_actions_are_the_recorded_episode(tiny_world):
    """One convention everywhere: row t is the action pressed while frame t was on screen."""
    from data_tools.game import GameConfig
    from data_tools.record import play_episode
    from play.prompts import make_prompt
    from play.render import action_stream

    p = make_prompt("game:3", WorldModel.load(tiny_world), 4)
    stream = list(action_stream(p, None, 6))
    recorded = play_episode(3, 10, GameConfig(width=32, height=32))
    np.testing.assert_array_equal(np.concatenate([p.frames, [f for _, f in stream]]), recorded.frames)
    np.testing.assert_array_equal(p.actions, recorded.actions[:4])
    np.testing.assert_array_equal([a for a, _ in stream], recorded.actions[3:9])  # the last prompt frame's first
