"""A report's pictures: plots.png, long_rollouts.png, number_keys.png, place_break.png, real_vs_imagined.mp4."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.dataset import Episode
from wm_video.video import write_video

from .keys import BLOCK_JUDGED
from .long_rollouts import STATISTICS, frame_statistics, in_range
from .measures import psnr_curves, still_curve


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path: Path) -> None:
    """Write under a temporary name, then rename: a report never holds a half-written picture."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    fig.savefig(tmp, dpi=100)
    _pyplot().close(fig)
    tmp.replace(path)


def write_plots(path: Path, m: dict, episodes: list[Episode], fakes: list[np.ndarray], shuffled: list[np.ndarray],
                long_fake: np.ndarray, low: np.ndarray, high: np.ndarray, prompt: int) -> None:
    """Four panels: autoregressive PSNR, the first long rollout's statistics, long rollouts by window,
    world consistency."""
    plt = _pyplot()
    fig, ax = plt.subplots(1, 4, figsize=(21, 4))
    curve = psnr_curves(episodes, fakes, prompt).mean(0)
    h = np.arange(1, len(curve) + 1)
    ax[0].plot(h, curve, label="true actions")
    ax[0].plot(h, psnr_curves(episodes, shuffled, prompt).mean(0), label="shuffled actions", linestyle="--")
    ax[0].plot(h, still_curve(episodes, prompt), label="last prompt frame held", linestyle=":", color="gray")
    ax[0].set(xlabel="frames after the prompt", ylabel="PSNR (dB)", title="autoregressive PSNR vs the real game")
    ax[0].legend()
    stats = frame_statistics(long_fake)
    for k, name in enumerate(STATISTICS):
        ax[1].plot(stats[:, k], label=name, linewidth=0.8)
        ax[1].axhspan(low[k], high[k], alpha=0.08, color=f"C{k}")
    ax[1].set(xlabel="frame", ylabel="0..255", title="first long rollout's frame statistics (bands: real range)")
    ax[1].legend(fontsize=7)
    by_rollout = np.asarray(m["stability"]["in_range_by_rollout"])
    start = 100 * np.arange(by_rollout.shape[1])
    for i, share in enumerate(by_rollout):
        ax[2].plot(start, share, marker=".", linewidth=0.8, label=f"rollout {i + 1}")
    ax[2].plot(start, by_rollout.mean(0), color="black", linewidth=2, label="mean")
    ax[2].plot(start, m["stability"]["sharpness_vs_real_by_100_frames"], color="black", linestyle="--",
               label="sharpness, imagined / real")
    ax[2].set(xlabel="frames (100-frame windows)", ylabel="share of frames in range; sharpness ratio",
              ylim=(-0.05, 1.05), title="long rollouts: in the real range, and sharpness")
    ax[2].legend(fontsize=7)
    _plot_consistency(ax[3], m)
    fig.tight_layout()
    _save_figure(fig, path)


def _plot_consistency(ax, m: dict) -> None:
    """World consistency by horizon, between its ceiling and floor; realism in the title."""
    c, r = m["consistency"], m["realism"]
    h = np.arange(1, len(c["iou_by_horizon"]) + 1)
    ax.plot(h, c["iou_by_horizon"], label="imagined")
    ax.plot(h, c["real_iou_by_horizon"], label="real frames (ceiling)", linestyle="--", color="green")
    ax.plot(h, c["held_iou_by_horizon"], label="last prompt frame held (floor)", linestyle=":", color="gray")
    ax.set(xlabel="frames after the prompt", ylabel="mean IoU, judge vs the game's labels", ylim=(0, 1),
           title=f"world consistency\nrealism distance {r['distance']:.1f} (real vs real {r['real_floor']:.1f}, "
                 f"blurred {r['blurred_sigma1']:.1f})")
    ax.legend(fontsize=7)


def write_side_by_side(path: Path, real: np.ndarray, imagined: np.ndarray, fps: float) -> None:
    """Real | imagined, upscaled twice without smoothing."""
    divider = np.full((real.shape[1], 2, 3), 255, np.uint8)
    video = [np.concatenate([r, divider, f], axis=1) for r, f in zip(real, imagined, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, [np.repeat(np.repeat(v, 2, 0), 2, 1) for v in video], fps=fps)


def write_contact_sheet(path: Path, rollouts: list[np.ndarray], low: np.ndarray, high: np.ndarray,
                        columns: int = 20) -> None:
    """One row per long rollout: a frame every len / ``columns`` frames, framed red where it is out of
    the real range, so that where a rollout went (a wall close up, a flat haze) can be seen."""
    plt = _pyplot()
    inside = np.stack([in_range(f, low, high) for f in rollouts])
    picks = np.linspace(0, inside.shape[1] - 1, columns).round().astype(int)
    rows = []
    for frames, ok in zip(rollouts, inside, strict=True):
        tiles = []
        for i in picks:
            tile = frames[i].copy()
            if not ok[i]:
                tile[[0, 1, 2, -3, -2, -1]] = tile[:, [0, 1, 2, -3, -2, -1]] = (255, 0, 0)
            tiles.append(tile)
        rows.append(np.concatenate(tiles, axis=1))
    h, w = rollouts[0].shape[1:3]
    fig, ax = plt.subplots(figsize=(columns * w / 100, len(rows) * h / 100 + 0.6))
    ax.imshow(np.concatenate(rows, axis=0))
    ax.set_xticks(np.arange(columns) * w + w / 2, [str(i) for i in picks], fontsize=7)
    ax.set_yticks(np.arange(len(rows)) * h + h / 2, [f"rollout {i + 1}" for i in range(len(rows))], fontsize=7)
    ax.set(xlabel="frame", title="long rollouts, imagined (red: outside the real frames' range)")
    fig.tight_layout()
    _save_figure(fig, path)


def write_number_keys(path: Path, strips: list[np.ndarray]) -> None:
    plt = _pyplot()
    picture = np.concatenate(strips, axis=0)
    fig, ax = plt.subplots(figsize=(picture.shape[1] * 3 / 100, picture.shape[0] * 3 / 100 + 0.5))
    ax.imshow(picture, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("a number key pressed, 4 frames later, one seed a row: real | real without the press | imagined",
                 fontsize=7)
    fig.tight_layout()
    _save_figure(fig, path)


def write_place_break(path: Path, trials: dict[str, list], size: tuple[int, int]) -> None:
    """One seed a row (those where the explorer pressed either key), use's triple beside attack's."""
    blank = np.zeros((size[1], 3 * size[0], 3), np.uint8)
    rows = [np.concatenate([blank if t is None else t[1] for t in seed], axis=1)
            for seed in zip(*trials.values(), strict=True) if any(t is not None for t in seed)]
    if not rows:
        return
    plt = _pyplot()
    picture = np.concatenate(rows[:8], axis=0)
    fig, ax = plt.subplots(figsize=(picture.shape[1] * 1.5 / 100, picture.shape[0] * 1.5 / 100 + 0.5))
    ax.imshow(picture, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{max(BLOCK_JUDGED)} frames after use (left three) and attack (right three) went down, one seed a "
                 "row: real | real without the key | imagined", fontsize=7)
    fig.tight_layout()
    _save_figure(fig, path)
