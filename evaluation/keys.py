"""Keys whose effect is local: number keys, placing and breaking blocks.

The real game replayed with and without the key differs only where the key acts; there the
imagined frame follows the key if it is nearer the real frame with the key than the one without.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from data_tools.dataset import Episode
from wm_video.actions import ACTION_INDEX
from wm_video.rollout import WorldSession

from .episodes import imagine, real_episode, replay

HOTBAR = [ACTION_INDEX[f"hotbar.{i}"] for i in range(1, 10)]
PRESS_JUDGED = (1, 4)  # frames after the press at which the imagined frame is judged
BLOCK_KEYS = {"use": "place", "attack": "break"}
BLOCK_JUDGED = (4, 12)  # frames after the key goes down; breaking takes 3-12 frames of holding attack
BLOCK_SEARCH = 500  # frames of the explorer's play searched for a press
MIN_CHANGED = 0.001  # share of a frame's pixels the key must change on every judged frame for the press to count


def followed(fake: np.ndarray, pressed: np.ndarray, without: np.ndarray, changed: np.ndarray) -> bool:
    """Is the imagined frame nearer the real one with the key than the one without, on the pixels
    where those two differ? (Elsewhere both are the same and tell nothing.)"""
    near = [np.abs(fake[changed].astype(int) - real[changed]).mean() for real in (pressed, without)]
    return bool(near[0] < near[1])


def number_key_trial(session: WorldSession, seed: int, size: tuple[int, int], prompt: int
                     ) -> tuple[dict[int, bool], np.ndarray]:
    """One press of a number key two frames after the prompt, the explorer's own (rare) presses taken
    out so that slot 1 stays lit. The key, 2 to 9, depends on the seed: a model that lit one slot
    whatever was pressed would fail most seeds.
    Returns followed-or-not per PRESS_JUDGED, and the strip of rows the highlight spans, 4 frames
    after the press: real with the press | real without | imagined."""
    press = prompt + 2
    actions = real_episode(seed, press + max(PRESS_JUDGED) + 2, size).actions.copy()
    actions[:, HOTBAR] = 0
    without = replay(seed, size, actions)
    actions[press, HOTBAR[1 + seed % 8]] = 1
    pressed = replay(seed, size, actions)
    lit = np.abs(pressed.astype(int) - without).sum(-1) > 0  # (T, H, W)
    fake = np.concatenate([pressed[:prompt], imagine(session, Episode(pressed, actions), prompt)])
    result = {after: followed(fake[press + after], pressed[press + after], without[press + after], lit[press + after])
              for after in PRESS_JUDGED}
    rows = np.flatnonzero(lit.any(axis=(0, 2)))
    band = slice(max(rows[0] - 4, 0), rows[-1] + 5)
    t = press + max(PRESS_JUDGED)
    return result, np.concatenate([x[t, band] for x in (pressed, without, fake)], axis=1)


def block_key_trial(session: WorldSession, episode: Episode, seed: int, prompt: int, key: str
                    ) -> tuple[dict[int, bool], np.ndarray] | None:
    """In ``episode`` (the explorer's play from ``seed``), its first press of ``key`` (use: place the
    held block where it aims; attack, held: break the block it aims at) that changes the picture on
    every judged frame; the real game is replayed with the key let go from that frame on.
    Returns followed-or-not per BLOCK_JUDGED and the frames real | real without | imagined at the
    last, or None where the seed's explorer never pressed the key to visible effect."""
    k, end = ACTION_INDEX[key], max(BLOCK_JUDGED)
    size = (episode.frames.shape[2], episode.frames.shape[1])  # (width, height), as replay takes it
    down = episode.actions[:, k] > 0.5
    onsets = np.flatnonzero(down[1:] & ~down[:-1]) + 1
    for onset in onsets[(onsets >= prompt) & (onsets + end < len(down))]:
        pressed, actions = episode.frames[:onset + end + 1], episode.actions[:onset + end + 1]
        let_go = actions.copy()
        let_go[onset:, k] = 0
        without = replay(seed, size, let_go)
        changed = np.abs(pressed.astype(int) - without).sum(-1) > 0
        if min(changed[onset + after].mean() for after in BLOCK_JUDGED) < MIN_CHANGED:
            continue  # aimed at nothing in reach, or the change left the view
        start = onset + 1 - prompt  # the prompt's last frame is the one the key goes down on
        fake = imagine(session, Episode(pressed[start:], actions[start:]), prompt)  # frames onset + 1, ...
        result = {after: followed(fake[after - 1], pressed[onset + after], without[onset + after],
                                  changed[onset + after]) for after in BLOCK_JUDGED}
        return result, np.concatenate([pressed[onset + end], without[onset + end], fake[end - 1]], axis=1)
    return None


def number_keys(session: WorldSession, seeds: list[int], size: tuple[int, int], prompt: int
                ) -> tuple[dict, list[np.ndarray]]:
    """The share of seeds whose number key press the model showed, per PRESS_JUDGED; and each seed's strip."""
    trials = [number_key_trial(session, seed, size, prompt) for seed in tqdm(seeds, desc="number keys")]
    part = {f"number_keys_followed@{after}": float(np.mean([f[after] for f, _ in trials])) for after in PRESS_JUDGED}
    return part, [strip for _, strip in trials]


def place_break(session: WorldSession, seeds: list[int], size: tuple[int, int], prompt: int
                ) -> tuple[dict, dict[str, list]]:
    """Per key of BLOCK_KEYS: the presses found and the share followed per BLOCK_JUDGED (NaN for none);
    and each seed's trial or None."""
    searched = {seed: real_episode(seed, BLOCK_SEARCH, size) for seed in tqdm(seeds, desc="explorer's play")}
    trials = {key: [block_key_trial(session, searched[seed], seed, prompt, key) for seed in tqdm(seeds, desc=key)]
              for key in BLOCK_KEYS}
    part = {}
    for key, verb in BLOCK_KEYS.items():
        done = [f for f, _ in filter(None, trials[key])]
        part[f"{verb}_presses"] = len(done)
        for after in BLOCK_JUDGED:
            part[f"{verb}_followed@{after}"] = float(np.mean([f[after] for f in done])) if done else float("nan")
    return part, trials
