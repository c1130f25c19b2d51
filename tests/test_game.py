import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from data_tools.game import Game, GameConfig
from data_tools.game import blocks as B
from data_tools.game.game import WALK
from wm_video.actions import action_from_dict, empty_action

from .conftest import frames_digest

SMALL = replace(GameConfig(), width=48, height=48)


def run(game, actions):
    return [game.step(a) for a in actions]


def scripted_actions(n=40):
    rng = np.random.default_rng(0)
    out = []
    for t in range(n):
        out.append(action_from_dict({"forward": t % 10 < 7, "jump": t % 13 == 0, "attack": t > 30,
                                     "camera.yaw": float(rng.normal(0, 3)), "camera.pitch": 1.0}))
    return out


@pytest.mark.parametrize("size", [(64, 64), (128, 128), (160, 96)])
def test_renders_at_any_size(size):
    game = Game(1, replace(GameConfig(), width=size[0], height=size[1]))
    frame = game.reset()
    assert frame.shape == (size[1], size[0], 3) and frame.dtype == np.uint8
    assert frame.std() > 10  # a real scene, not a flat colour


def test_same_seed_and_actions_give_identical_frames_and_other_seeds_differ():
    actions = scripted_actions()
    a = [Game(7, SMALL).reset()] + run(Game(7, SMALL), actions)
    g = Game(7, SMALL)
    b = [g.reset()] + run(g, actions)
    assert frames_digest(a) == frames_digest(b)
    assert frames_digest(a) != frames_digest([Game(8, SMALL).reset()])


def test_frames_are_bit_identical_in_another_process():
    code = (
        "from tests.test_game import *\n"
        "g = Game(7, SMALL); fr = [g.reset()] + run(g, scripted_actions())\n"
        "print(frames_digest(fr))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    g = Game(7, SMALL)
    assert out.stdout.strip() == frames_digest([g.reset()] + run(g, scripted_actions()))


def test_standing_still_stays_on_the_ground():
    game = Game(3, SMALL)
    y0 = game.player.y
    run(game, [empty_action()] * 20)
    assert game.player.on_ground
    assert game.player.y == pytest.approx(y0)


def test_walking_moves_along_the_view_and_camera_turns_by_the_given_degrees():
    game = Game(3, SMALL)
    yaw0 = game.player.yaw
    game.step(action_from_dict({"camera.yaw": 30.0, "camera.pitch": -10.0}))
    assert game.player.yaw == pytest.approx((yaw0 + 30.0) % 360)
    assert game.player.pitch == pytest.approx(-10.0)
    x0, z0 = game.player.x, game.player.z
    game.step(action_from_dict({"forward": 1}))
    yaw = math.radians(game.player.yaw)
    dx, dz = game.player.x - x0, game.player.z - z0
    # Forward is (-sin yaw, cos yaw), Minecraft's convention; a block in the way may stop it.
    assert dx * -math.sin(yaw) + dz * math.cos(yaw) == pytest.approx(WALK, abs=1e-6) or (dx, dz) == (0, 0)


def test_jump_goes_up_and_lands():
    game = Game(3, SMALL)
    y0 = game.player.y
    heights = []
    for a in [action_from_dict({"jump": 1})] + [empty_action()] * 25:
        game.step(a)
        heights.append(game.player.y)
    assert max(heights) > y0 + 1.0  # Minecraft's jump clears one block
    assert heights[-1] == pytest.approx(y0) and game.player.on_ground


def test_attack_breaks_the_block_underfoot_after_its_hardness():
    game = Game(3, SMALL)
    game.step(action_from_dict({"camera.pitch": 90.0}))
    (bx, by, bz), _ = game.target()
    block = game.world.get(bx, by, bz)
    hardness = int(B.HARDNESS[block])
    run(game, [action_from_dict({"attack": 1})] * (hardness - 1))
    assert game.world.get(bx, by, bz) == block  # not yet
    game.step(action_from_dict({"attack": 1}))
    assert game.world.get(bx, by, bz) == B.AIR
    run(game, [empty_action()] * 10)
    assert game.player.y == pytest.approx(by)  # fell into the hole


def test_use_places_the_selected_hotbar_block():
    game = Game(3, SMALL)
    game.step(action_from_dict({"camera.pitch": 60.0, "hotbar.9": 1}))
    assert game.player.slot == 8
    _, cell = game.target()
    game.step(action_from_dict({"use": 1}))
    assert game.world.get(*cell) == B.HOTBAR_BLOCKS[8] == B.BRICKS


def test_unmodelled_actions_are_accepted_and_ignored():
    frames = []
    for extra in ({}, {"inventory": 1, "ESC": 1, "swapHands": 1, "pickItem": 1, "drop": 1}):
        g = Game(2, SMALL)
        g.reset()
        frames.append(g.step(action_from_dict(extra)))
    np.testing.assert_array_equal(frames[0], frames[1])
    with pytest.raises(ValueError, match="shape"):
        Game(2, SMALL).step(np.zeros(24))


def test_world_edits_survive_chunks_unloading_and_reloading():
    game = Game(4, SMALL)
    x, y, z = int(game.player.x), int(game.player.y) + 5, int(game.player.z)
    game.world.set(x, y, z, B.BRICKS)
    game.world.ensure_loaded(x + 2000, z)  # far away: the ring buffer reuses these slots
    game.world.ensure_loaded(x, z)
    assert game.world.get(x, y, z) == B.BRICKS


def test_label_maps_are_deterministic_and_leave_the_frames_as_they_were():
    from data_tools.game.raycast import render_view

    g = Game(7, SMALL)
    g.reset()
    run(g, scripted_actions(20))
    frame, labels = g.render(), g.labels()
    p, cfg = g.player, g.config
    bare = np.empty_like(frame)  # the same view drawn again into a labels buffer of other content (no cracks)
    written = np.full_like(labels, 255)
    target = np.array(g.target()[0] if g.target() else (0, -1, 0))
    render_view(bare, g.world.blocks, cfg.world.height, g.world.mask, g._mip_rgb, g._mip_opaque, B.BLOCK_FACES,
                *p.eye, p.yaw, p.pitch, cfg.fov, cfg.fog_start, cfg.fog_end, target, 0.0, g._sun, written)
    g.hud.draw(bare, p.slot)
    np.testing.assert_array_equal(frame, bare)
    world = labels != B.HUD_LABEL  # the HUD's labels are drawn after the ray marcher's
    np.testing.assert_array_equal(written[world], labels[world])
    assert labels.shape == frame.shape[:2] and labels.max() < len(B.LABEL_NAMES)
    h = Game(7, SMALL)
    h.reset()
    run(h, scripted_actions(20))
    np.testing.assert_array_equal(labels, h.labels())
    hud = labels == B.HUD_LABEL
    assert hud[g.hud.top:].any() and hud[SMALL.height // 2, SMALL.width // 2]
    # Looking straight up shows sky above; straight down, the ground the player stands on.
    g.step(action_from_dict({"camera.pitch": -90.0}))
    assert (g.labels()[: SMALL.height // 4] == B.SKY_LABEL).mean() > 0.9
    g.step(action_from_dict({"camera.pitch": 180.0}))
    assert (g.labels()[: SMALL.height // 4] == B.SKY_LABEL).mean() < 0.1
