"""The model the repository ships: what `make play`, `render` and `eval` use when --model is not given."""

import json

import numpy as np

from data_tools.game import Game
from train.ship import MAX_BYTES
from wm_video.actions import ACTION_INDEX
from wm_video.rollout import RolloutConfig, WorldSession
from wm_video.world_model import DEFAULT_MODEL, WorldModel, resolve_model


def test_the_shipped_model_loads_plays_and_keeps_its_promises():
    assert resolve_model(None) == DEFAULT_MODEL
    files = [p for p in DEFAULT_MODEL.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES
    assert not any(p.suffix in (".bin", ".pt", ".pth", ".pkl") for p in files)  # safetensors only
    world = WorldModel.load(DEFAULT_MODEL)
    assert (world.info.width, world.info.height) == (128, 128)
    game = Game(9001)
    prompt = np.stack([game.reset()] + [game.step(np.zeros(25, np.float32)) for _ in range(3)])
    session = WorldSession(world, RolloutConfig(seed=0))
    session.reset(prompt, np.zeros((4, 25), np.float32))
    frame = session.step(np.zeros(25, np.float32))
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8
    # A model that has learnt anything continues a still scene with a frame close to the last one.
    err = np.abs(frame.astype(int) - prompt[-1].astype(int)).mean()
    assert err < 25, err  # measured: 7.3 for the shipped model, 64 with an untrained DiT
    card = (DEFAULT_MODEL / "README.md").read_text()
    metrics = json.loads((DEFAULT_MODEL / "metrics.json").read_text())
    assert f"{metrics['teacher_forced']['psnr']:.2f} dB" in card


def horizontal_shift(a: np.ndarray, b: np.ndarray, most: int = 40) -> int:
    """How many pixels b's picture sits left of a's (a yaw to the right moves it left), by best overlap."""
    ga, gb = a.astype(float).mean(2), b.astype(float).mean(2)
    w = ga.shape[1]

    def mismatch(s: int) -> float:
        return float(np.abs(ga[:, max(0, s):w + min(0, s)] - gb[:, max(0, -s):w - max(0, s)]).mean())

    return min(range(-most, most + 1), key=mismatch)


def test_the_shipped_model_turns_the_way_the_keys_say():
    world = WorldModel.load(DEFAULT_MODEL)
    session = WorldSession(world, RolloutConfig(seed=0))
    for yaw in (8.0, -8.0):  # degrees per frame; the real game moves its view about 13 pixels per frame
        action = np.zeros(25, np.float32)
        action[ACTION_INDEX["camera.yaw"]] = yaw
        game = Game(9002)
        prompt = np.stack([game.reset()] + [game.step(action) for _ in range(7)])
        assert np.sign(horizontal_shift(prompt[-2], prompt[-1])) == np.sign(yaw)
        session.reset(prompt, np.tile(action, (8, 1)))
        # measured: +16 and -16 pixels (a model released earlier ignored the keys: 0 and 0)
        assert np.sign(horizontal_shift(prompt[-1], session.step(action))) == np.sign(yaw)
