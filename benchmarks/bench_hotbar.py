"""Number keys: does the model light up the hotbar slot that was pressed?

    python benchmarks/bench_hotbar.py [--model DIR] [--seeds 16] [--out hotbar.png]

Per held-out seed (9001 on): the scripted explorer's actions with its own (rare) hotbar presses taken
out (so slot 1, the game's first, stays lit), and after the 8 prompt frames one press of hotbar.5. The real
game replayed with and without that press gives two frames that differ in the hotbar; an imagined frame
follows the key when it is nearer the pressed one on those pixels. Printed: the share of presses
followed 1 and 4 frames after the key. The picture shows each seed's bottom rows 4 frames after the
key: real with the press | real without | imagined.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_tools.game import Game, GameConfig  # noqa: E402
from train.eval_world import Episode, imagine, real_episode  # noqa: E402
from wm_video.actions import ACTION_INDEX  # noqa: E402
from wm_video.errors import UserError  # noqa: E402
from wm_video.rollout import WorldSession  # noqa: E402
from wm_video.world_model import WorldModel, resolve_model  # noqa: E402

PROMPT, PRESS, FRAMES, HOTBAR_ROWS = 8, 10, 16, 20  # the hotbar is drawn in the bottom 20 rows at 128x128
HOTBAR = [ACTION_INDEX[f"hotbar.{i}"] for i in range(1, 10)]


def replay(seed: int, actions: np.ndarray) -> np.ndarray:
    game = Game(seed, replace(GameConfig(), width=128, height=128))
    return np.stack([game.reset()] + [game.step(a) for a in actions[: len(actions) - 1]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped one)")
    parser.add_argument("--seeds", type=int, default=16, help="how many held-out seeds, from 9001")
    parser.add_argument("--out", help="write the picture here (PNG)")
    args = parser.parse_args()
    if args.seeds < 1:
        sys.exit(f"error: --seeds must be at least 1, got {args.seeds}")
    try:
        session = WorldSession(WorldModel.load(resolve_model(args.model)))
    except UserError as e:
        sys.exit(f"error: {e}")
    followed, strips = {1: [], 4: []}, []
    for seed in range(9001, 9001 + args.seeds):
        actions = real_episode(seed, FRAMES, (128, 128)).actions.copy()
        actions[:, HOTBAR] = 0
        without = replay(seed, actions)
        actions[PRESS, HOTBAR[4]] = 1
        pressed = replay(seed, actions)
        lit = np.abs(pressed[:, -HOTBAR_ROWS:].astype(int) - without[:, -HOTBAR_ROWS:]).sum(-1) > 0
        fake = np.concatenate([pressed[:PROMPT], imagine(session, Episode(pressed, actions), PROMPT)])
        for after in followed:
            t = PRESS + after
            near = [np.abs(fake[t, -HOTBAR_ROWS:][lit[t]].astype(int) - real[t, -HOTBAR_ROWS:][lit[t]]).mean()
                    for real in (pressed, without)]
            followed[after].append(near[0] < near[1])
        t = PRESS + 4
        strips.append(np.concatenate([x[t, -HOTBAR_ROWS:] for x in (pressed, without, fake)], 1))
    for after, hits in followed.items():
        print(f"hotbar key followed {after} frame(s) after the press: {np.mean(hits):.0%} of {len(hits)} seeds")
    if args.out:
        import cv2

        cv2.imwrite(args.out, cv2.cvtColor(np.concatenate(strips, 0), cv2.COLOR_RGB2BGR))
        print(f"{args.out}: per seed, real with the press | real without | imagined")


if __name__ == "__main__":
    main()
