import numpy as np

from data_tools.game import Game
from data_tools.game.blocks import AIR
from data_tools.scripted_player import ScriptedPlayer
from wm_video.actions import ACTION_INDEX

from .test_game import SMALL

MODELLED = ["forward", "back", "left", "right", "camera.pitch", "camera.yaw", "jump", "sneak", "sprint",
            "attack", "use"]


def test_plays_like_a_person_and_every_modelled_action_occurs():
    actions, positions, water, broken, placed = [], [], 0, 0, 0
    for seed in (0, 1):
        game, player = Game(seed, SMALL), ScriptedPlayer(seed)
        for _ in range(700):
            a = player.act(game)
            game.step(a)
            actions.append(a)
            positions.append((game.player.x, game.player.z))
            water += game.in_water
        edits = [b for e in game.world._edits.values() for b in e.values()]
        broken += sum(b == AIR for b in edits)
        placed += sum(b != AIR for b in edits)
    assert broken > 3 and placed > 3  # it digs and it builds
    actions = np.array(actions)
    for name in MODELLED:
        share = np.mean(actions[:, ACTION_INDEX[name]] != 0)
        assert share > 0.005, f"{name} occurs in only {share:.1%} of frames"
    hotbar = actions[:, ACTION_INDEX["hotbar.1"]:ACTION_INDEX["hotbar.9"] + 1]
    assert (hotbar.sum(0) > 0).sum() >= 4  # several slots get chosen
    # Actions persist: the walking key rarely flips from one frame to the next.
    forward = actions[:, ACTION_INDEX["forward"]]
    assert np.mean(forward[1:] != forward[:-1]) < 0.15
    # It gets somewhere and stays out of the water.
    path = np.hypot(*np.diff(np.array(positions), axis=0).T).sum()
    assert path > 100 and water < 0.2 * len(actions)
