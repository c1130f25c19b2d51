"""``wm-video dataset-info``: what a dataset holds, and how often each action occurs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wm_video.actions import ACTION_SPECS

from .dataset import episode_paths, read_actions, read_info


def summarize(root: str | Path) -> str:
    info = read_info(root)
    episodes, actions = read_actions(root)
    n = len(actions)
    lengths = np.bincount(episodes) if n else np.zeros(0, int)
    lengths = lengths[lengths > 0]
    lines = [
        f"dataset      {root}",
        f"source       {info.source}"
        + (f" (seed {info.seed}, game v{info.game_version})" if info.seed is not None else ""),
        f"episodes     {len(episode_paths(root))}",
        f"frames       {n}" + (f" ({lengths.min()}-{lengths.max()} per episode)" if n else ""),
        f"frame size   {info.width}x{info.height} at {info.fps:g} fps ({n / info.fps / 60:.1f} min)",
        "",
        f"{'action':<14}{'frames':>8}{'share':>8}  histogram",
    ]
    for k, spec in enumerate(ACTION_SPECS):
        column = actions[:, k] if n else np.zeros(0)
        active = int(np.count_nonzero(column))
        share = active / n if n else 0.0
        bar = "#" * round(share * 40)
        extra = ""
        if spec.unit != "button" and active:
            extra = f"  mean |{spec.unit}| {np.abs(column[column != 0]).mean():.2f}, max {np.abs(column).max():.1f}"
        lines.append(f"{spec.name:<14}{active:>8}{share:>8.1%}  {bar}{extra}")
    return "\n".join(lines)
