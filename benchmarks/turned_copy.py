"""How far a camera turn alone explains the next frame: the last real frame held still, against the
same frame turned by the camera action (WorldDiT's ``turn_frames``), on held-out seeds of the game.

    python benchmarks/turned_copy.py [--seeds 9001-9008] [--frames 150]

Teacher-forced PSNR of these two guesses is what a model that learnt nothing, and one that learnt
only the camera's geometry, would score (``wm-video eval`` prints the first as "copy last frame").
Cells that come into view are filled from the frame held still.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from data_tools.game import Game, GameConfig
from data_tools.scripted_player import ScriptedPlayer
from wm_video.actions import ACTION_INDEX
from wm_video.metrics import psnr
from wm_video.models.dit import turn_frames

TURNING_DEGREES = 2.0  # a frame "turns" when its camera action moves pitch or yaw by more than this


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="9001-9008", help="a range of game seeds, FIRST-LAST")
    parser.add_argument("--frames", type=int, default=150, help="frames per seed")
    args = parser.parse_args()
    first, last = (int(s) for s in args.seeds.split("-"))
    config = GameConfig()
    rows = {"still": [], "turned": []}
    turning = []
    camera = [ACTION_INDEX["camera.pitch"], ACTION_INDEX["camera.yaw"]]
    for seed in range(first, last + 1):
        game, player = Game(seed, config), ScriptedPlayer(seed)
        frames, actions = [game.reset()], []
        for _ in range(args.frames):
            actions.append(player.act(game))
            frames.append(game.step(actions[-1]))
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255  # (T + 1, 3, H, W)
        a = torch.from_numpy(np.stack(actions))
        before, after = x[:-1], x[1:]
        turned = turn_frames(before[None], a[None], config.fov)[0]
        revealed = turn_frames(torch.ones_like(before[None, :, :1]), a[None], config.fov)[0] < 0.5
        turned = torch.where(revealed, before, turned)
        rows["still"].append(psnr(before, after).numpy())
        rows["turned"].append(psnr(turned, after).numpy())
        turning.append((a[:, camera].abs().amax(dim=1) > TURNING_DEGREES).numpy())
    turning = np.concatenate(turning)
    print(f"\nteacher-forced PSNR of two guesses at the next frame, seeds {args.seeds}, {len(turning)} frames "
          f"({turning.mean():.0%} turning more than {TURNING_DEGREES:g} degrees)")
    print(f"{'guess':<28}{'all':>8}{'turning':>10}{'other':>8}")
    for name, label in (("still", "last frame held still"), ("turned", "last frame turned")):
        v = np.concatenate(rows[name])
        print(f"{label:<28}{v.mean():>8.2f}{v[turning].mean():>10.2f}{v[~turning].mean():>8.2f}")


if __name__ == "__main__":
    main()
