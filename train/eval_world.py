"""``wm-video eval``: how good a world model is, measured against the real game on held-out seeds.

Every figure compares imagined frames with what the built-in game shows from the same state
under the same actions (the scripted explorer's), on seeds never used in training:

* VAE reconstruction PSNR / SSIM;
* teacher-forced next frame: context from the real game, one frame imagined;
* autoregressive PSNR / SSIM at horizons 1..H (only the prompt is real), plotted;
* beside both, what a model that has learnt nothing scores: the last real frame held still;
* controllability: autoregressive PSNR with the true actions minus with the same actions
  shuffled in time, at horizons 4 and 16 (Genie's delta-PSNR);
* action following: an inverse dynamics model (IDM) trained here on real frame pairs predicts
  the yaw direction and whether the player moved; its accuracy on imagined pairs over real ones;
  and keys whose effect is local: after one press of a number key (2-9, one per seed), or the
  explorer's own use (place a block) or attack (break one), is the imagined frame nearer the real
  game's with the key than without it, where those two differ;
* stability: long rollouts' frame statistics (mean colour, contrast) against the real
  frames' range, per 100-frame window, averaged over a few rollouts (one wanders by chance),
  and their sharpness against the real frames';
* revisiting: after turning 360 degrees in place, PSNR of the frame against the one before, and
  against the other seeds' frames before their turns (what a frame that remembers nothing scores,
  higher the blurrier it is): the margin between the two is what memory adds;
* speed: frames/s and 90th-percentile latency of the engine;
* what a player sees, scored by the FrameJudge (train/eval_judge.py): world consistency (its labels
  of imagined frames against the game's true labels, by horizon) and realism (the Frechet distance of
  its features, imagined against real frames), each beside the real game's own score.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from data_tools.dataset import atomic_write
from data_tools.game import Game, GameConfig
from data_tools.game.blocks import LABEL_NAMES
from data_tools.scripted_player import ScriptedPlayer
from train.eval_judge import consistency, format_judged, primary_lines, realism, realism_units
from wm_video.actions import ACTION_INDEX, action_from_dict
from wm_video.errors import UserError
from wm_video.judge import load_judge
from wm_video.metrics import psnr, sharpness, ssim
from wm_video.precision import compute_precision
from wm_video.rollout import RolloutConfig, WorldSession
from wm_video.video import write_video
from wm_video.world_model import WorldModel


@dataclass
class EvalConfig:
    # Never used in training. Sixteen, because one episode's 64-frame PSNR swings by several dB.
    seeds: list[int] = field(default_factory=lambda: list(range(9001, 9017)))
    prompt: int = 8  # real frames before imagining
    horizon: int = 64  # autoregressive frames per episode
    teacher_forced: int = 16  # teacher-forced predictions per episode
    stability_frames: int = 2000
    stability_rollouts: int = 4  # from the first seeds
    idm_seeds: list[int] = field(default_factory=lambda: [9101, 9102, 9103, 9104, 9105, 9106])
    idm_frames: int = 400  # real frames per IDM training seed
    idm_steps: int = 600
    rollout: RolloutConfig = field(default_factory=RolloutConfig)  # the sampler: steps, shift, window, ...
    judge: str | None = None  # the FrameJudge folder for consistency and realism (default: the shipped one)


@dataclass
class Episode:
    frames: np.ndarray  # (T, H, W, 3): prompt then horizon frames
    actions: np.ndarray  # (T, 25): pressed on each frame
    labels: np.ndarray | None = None  # (T, H, W): the game's label maps (data_tools.game.blocks.LABEL_NAMES)


def real_episode(seed: int, frames: int, size: tuple[int, int]) -> Episode:
    """The scripted explorer in the real game: frames, their true label maps and the action pressed on each."""
    game, player = Game(seed, replace(GameConfig(), width=size[0], height=size[1])), ScriptedPlayer(seed)
    out, labels, actions = [game.reset()], [game.labels()], []
    while len(out) < frames:
        actions.append(player.act(game))
        out.append(game.step(actions[-1]))
        labels.append(game.labels())
    actions.append(player.act(game))
    return Episode(np.stack(out), np.stack(actions), np.stack(labels))


def to_unit(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255


def quality(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = to_unit(a), to_unit(b)
    return psnr(x, y).numpy(), ssim(x, y).numpy()


def imagine(session: WorldSession, episode: Episode, prompt: int, actions: np.ndarray | None = None) -> np.ndarray:
    """Prompt with the first ``prompt`` real frames, then imagine the rest under ``actions`` (default: the real)."""
    actions = episode.actions if actions is None else actions
    session.reset(episode.frames[:prompt], episode.actions[:prompt])
    return np.stack([session.step(actions[t]) for t in range(prompt - 1, len(episode.frames) - 1)])


# -- inverse dynamics ---------------------------------------------------------------------------

YAW, FORWARD = ACTION_INDEX["camera.yaw"], ACTION_INDEX["forward"]


def idm_labels(actions: np.ndarray) -> np.ndarray:
    """Per transition: yaw class (0 left, 1 still, 2 right; 1.5 degree dead zone) and forward (0/1)."""
    yaw = np.where(actions[:, YAW] < -1.5, 0, np.where(actions[:, YAW] > 1.5, 2, 1))
    return np.stack([yaw, (actions[:, FORWARD] > 0.5).astype(int)], axis=1)


class InverseDynamics(nn.Module):
    """Two frames (stacked as 6 channels) -> yaw class logits (3) and forward logits (2)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(6, 32, 4, 2, 1), nn.SiLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.SiLU(),
            nn.Conv2d(64, 64, 4, 2, 1), nn.SiLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(1024, 5))

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        x = torch.cat([before, after - before], 1)
        while x.shape[-1] > 64:  # judging motion needs no full resolution; keeps the IDM cheap on a CPU
            x = F.avg_pool2d(x, 2)
        return self.net(x)


def train_idm(episodes: list[Episode], steps: int = 600, seed: int = 0) -> InverseDynamics:
    torch.manual_seed(seed)
    before = torch.cat([to_unit(e.frames[:-1]) for e in episodes])
    after = torch.cat([to_unit(e.frames[1:]) for e in episodes])
    labels = torch.from_numpy(np.concatenate([idm_labels(e.actions[:-1]) for e in episodes]))
    model = InverseDynamics()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(steps), desc="inverse dynamics", unit="step", leave=False):
        i = torch.randint(0, len(labels), (64,), generator=g)
        logits = model(before[i], after[i])
        loss = F.cross_entropy(logits[:, :3], labels[i, 0]) + F.cross_entropy(logits[:, 3:], labels[i, 1])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def idm_accuracy(model: InverseDynamics, frames: np.ndarray, actions: np.ndarray) -> float:
    """Mean accuracy of both heads over the transitions frames[t] -> frames[t + 1] under actions[t]."""
    logits = model(to_unit(frames[:-1]), to_unit(frames[1:]))
    labels = torch.from_numpy(idm_labels(actions[:len(frames) - 1]))
    return float(((logits[:, :3].argmax(1) == labels[:, 0]).float().mean()
                  + (logits[:, 3:].argmax(1) == labels[:, 1]).float().mean()) / 2)


# -- the suite ------------------------------------------------------------------------------------

STATISTICS = ("mean R", "mean G", "mean B", "contrast")


# -- keys whose effect is local: number keys, placing and breaking blocks ------------------------

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


def replay(seed: int, size: tuple[int, int], actions: np.ndarray) -> np.ndarray:
    """The real game from ``seed`` under given actions (the action on frame t makes frame t + 1)."""
    game = Game(seed, replace(GameConfig(), width=size[0], height=size[1]))
    return np.stack([game.reset()] + [game.step(a) for a in actions[:-1]])


def number_key_trial(session: WorldSession, seed: int, size: tuple[int, int], prompt: int
                     ) -> tuple[dict[int, bool], np.ndarray]:
    """One press of a number key two frames after the prompt, the explorer's own (rare) presses taken
    out so that slot 1 stays lit. The key, 2 to 9, depends on the seed: a model that lit one slot
    whatever was pressed would fail most seeds. The real game replayed with and without the press
    differs only where the highlight moved; there the imagined frame follows the key if it is
    nearer the pressed one.
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
    every judged frame; the real game is replayed with the key let go from that frame on. Judged as
    the number keys are.
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


def frame_statistics(frames: np.ndarray) -> np.ndarray:
    """Per frame: the ``STATISTICS``, mean of each colour channel and the overall contrast (std), in 0..255."""
    f = frames.reshape(len(frames), -1, 3).astype(np.float32)
    return np.concatenate([f.mean(1), f.std((1, 2))[:, None]], axis=1)


def evaluate(model: str | Path, out: str | Path, cfg: EvalConfig) -> dict:
    world = WorldModel.load(model)
    size = (world.info.width, world.info.height)
    session = WorldSession(world, cfg.rollout, compile=True)
    prompt = min(cfg.prompt, session.rollout.window - 1)
    episodes = [real_episode(s, prompt + cfg.horizon, size) for s in tqdm(cfg.seeds, desc="real episodes")]
    metrics: dict = {"model": str(model), "config": asdict(cfg)}

    # 1. the VAE
    real = np.concatenate([e.frames for e in episodes])
    recon = world.decode(world.encode(torch.from_numpy(real)), decoder=session.decoder).numpy()
    p, s = quality(recon, real)
    metrics["vae"] = {"psnr": float(p.mean()), "ssim": float(s.mean())}

    # 2. teacher-forced next frame
    tf_p, tf_s, copy_p = [], [], []
    for e in tqdm(episodes, desc="teacher-forced"):
        for t in np.linspace(prompt, len(e.frames) - 2, cfg.teacher_forced).astype(int):
            session.reset(e.frames[:t + 1], e.actions[:t + 1])
            p, s = quality(session.step(e.actions[t])[None], e.frames[t + 1:t + 2])
            tf_p.append(p[0])
            tf_s.append(s[0])
            copy_p.append(quality(e.frames[t:t + 1], e.frames[t + 1:t + 2])[0][0])
    metrics["teacher_forced"] = {"psnr": float(np.mean(tf_p)), "ssim": float(np.mean(tf_s)),
                                 "copy_last_frame_psnr": float(np.mean(copy_p))}

    # 3. autoregressive, and 4. the same with the actions shuffled in time
    rng = np.random.default_rng(0)
    curves_p, curves_s, shuffled_p, fakes = [], [], [], []
    for e in tqdm(episodes, desc="autoregressive"):
        fakes.append(imagine(session, e, prompt))
        p, s = quality(fakes[-1], e.frames[prompt:])
        curves_p.append(p)
        curves_s.append(s)
        shuffled = e.actions.copy()
        shuffled[prompt - 1:-1] = shuffled[prompt - 1:-1][rng.permutation(cfg.horizon)]
        shuffled_p.append(quality(imagine(session, e, prompt, shuffled), e.frames[prompt:])[0])
    curve_p, curve_s, curve_shuffled = (np.mean(c, axis=0) for c in (curves_p, curves_s, shuffled_p))
    curve_still = np.mean([quality(np.repeat(e.frames[prompt - 1:prompt], cfg.horizon, 0), e.frames[prompt:])[0]
                           for e in episodes], axis=0)
    metrics["autoregressive"] = {"psnr_by_horizon": curve_p.round(3).tolist(),
                                 "ssim_by_horizon": curve_s.round(4).tolist(),
                                 **{f"psnr@{h}": float(curve_p[h - 1]) for h in (1, 4, 16, 64) if h <= cfg.horizon},
                                 # per episode: the standard error, and two models compared pairwise
                                 "psnr_by_episode": np.round(curves_p, 2).tolist(),
                                 "still_psnr_by_horizon": curve_still.round(3).tolist()}
    metrics["controllability"] = {f"delta_psnr@{h}": float(curve_p[h - 1] - curve_shuffled[h - 1])
                                  for h in (4, 16) if h <= cfg.horizon}
    metrics["controllability_by_episode"] = {f"delta_psnr@{h}": [round(float(p[h - 1] - q[h - 1]), 3) for p, q in
                                                                 zip(curves_p, shuffled_p, strict=True)]
                                             for h in (4, 16) if h <= cfg.horizon}
    judge = load_judge(cfg.judge)
    if tuple(judge.config.class_names) != LABEL_NAMES:
        raise UserError(f"{cfg.judge or 'the shipped judge'}: labels {judge.config.class_names}, not the game's "
                        f"{LABEL_NAMES}; train one on this game's `record --labels` data")
    metrics["consistency"] = consistency(judge, fakes, [e.frames[prompt:] for e in episodes],
                                         [e.labels[prompt:] for e in episodes],
                                         [e.frames[prompt - 1] for e in episodes])

    # 5. action following, judged by an inverse dynamics model trained on real pairs
    idm = train_idm([real_episode(s, cfg.idm_frames, size) for s in tqdm(cfg.idm_seeds, desc="IDM data")],
                    steps=cfg.idm_steps)
    real_acc = float(np.mean([idm_accuracy(idm, e.frames[prompt - 1:], e.actions[prompt - 1:]) for e in episodes]))
    fake_acc = float(np.mean([
        idm_accuracy(idm, np.concatenate([e.frames[prompt - 1:prompt], f]), e.actions[prompt - 1:])
        for e, f in zip(episodes, fakes, strict=True)]))
    trials = [number_key_trial(session, seed, size, prompt) for seed in tqdm(cfg.seeds, desc="number keys")]
    searched = {seed: real_episode(seed, BLOCK_SEARCH, size) for seed in tqdm(cfg.seeds, desc="explorer's play")}
    block_trials = {key: [block_key_trial(session, searched[seed], seed, prompt, key)
                          for seed in tqdm(cfg.seeds, desc=key)] for key in BLOCK_KEYS}
    metrics["action_following"] = {"idm_accuracy_real": real_acc, "idm_accuracy_imagined": fake_acc,
                                   "ratio": fake_acc / max(real_acc, 1e-9),
                                   **{f"number_keys_followed@{after}": float(np.mean([f[after] for f, _ in trials]))
                                      for after in PRESS_JUDGED}}
    for key, verb in BLOCK_KEYS.items():
        done = [f for f, _ in filter(None, block_trials[key])]
        metrics["action_following"][f"{verb}_presses"] = len(done)
        for after in BLOCK_JUDGED:
            metrics["action_following"][f"{verb}_followed@{after}"] = float(np.mean([f[after] for f in done])) \
                if done else float("nan")

    # 6. stability over long rollouts
    long_real = [real_episode(seed, prompt + cfg.stability_frames, size) for seed in cfg.seeds[:cfg.stability_rollouts]]
    long_fake = [imagine(session, e, prompt) for e in tqdm(long_real, desc="long rollouts")]
    reference = frame_statistics(np.concatenate([e.frames for e in long_real] + [real]))
    low, high = np.percentile(reference, 1, axis=0), np.percentile(reference, 99, axis=0)
    stats = [frame_statistics(f) for f in long_fake]
    def in_range(st: np.ndarray) -> np.ndarray:
        return ((st >= low) & (st <= high)).all(axis=1)

    inside = np.stack([in_range(st) for st in stats])  # (rollouts, frames)
    # What the statistic gives the real game itself: a 1st-99th percentile range on four statistics
    # leaves some real frames out too, so this, not 100%, is what "in distribution" reads as.
    real_inside = in_range(frame_statistics(np.concatenate([e.frames[prompt:] for e in long_real])))
    windows = [inside[:, i:i + 100].mean(axis=1) for i in range(0, inside.shape[1], 100)]  # per window, per rollout
    every = np.concatenate(stats)
    because = {f"{name} {side}": float(share) for k, name in enumerate(STATISTICS)
               for side, share in (("below", (every[:, k] < low[k]).mean()), ("above", (every[:, k] > high[k]).mean()))}
    real_sharpness = float(np.median(np.concatenate([sharpness(e.frames[prompt:]) for e in long_real])))
    fake_sharpness = np.stack([sharpness(f) for f in long_fake])  # (rollouts, frames)
    metrics["stability"] = {"frames": inside.shape[1], "rollouts": len(inside),
                            "out_of_range_because": because,
                            "sharpness_vs_real": float(np.median(fake_sharpness)) / real_sharpness,
                            "sharpness_vs_real_by_100_frames": [
                                float(np.median(fake_sharpness[:, i:i + 100])) / real_sharpness
                                for i in range(0, inside.shape[1], 100)],
                            "in_range_share_by_100_frames": [float(w.mean()) for w in windows],
                            "in_range_by_rollout": np.round(np.stack(windows, axis=1), 2).tolist(),
                            "first_256_in_range": float(inside[:, :256].mean()),
                            "last_window_in_range": float(windows[-1].mean()), "all_in_range": float(inside.mean()),
                            "real_in_range": float(real_inside.mean()),
                            "statistic": "mean RGB and contrast inside the 1st-99th percentile of real frames"}

    metrics["realism"] = realism(judge, *realism_units(long_fake, [e.frames[prompt:] for e in long_real], fakes,
                                                       [e.frames[prompt:] for e in episodes]))

    # 7. revisiting: turn 360 degrees in place
    # Against the other seeds' views too: an imagined frame that remembers nothing scores that much,
    # more if blurred, so the margin over it is what memory adds.
    turn = action_from_dict({"camera.yaw": 10.0})
    after = []
    for e in episodes:
        session.reset(e.frames[:prompt], e.actions[:prompt])
        after.append([session.step(turn) for _ in range(36)][-1])
    before = to_unit(np.stack([e.frames[prompt - 1] for e in episodes]))
    against = np.stack([psnr(f[None], before).numpy() for f in to_unit(np.stack(after))])  # (after, before)
    revisit = np.diag(against)
    metrics["revisiting"] = {"psnr_after_360": float(np.mean(revisit)),
                             "psnr_by_episode": [round(float(v), 3) for v in revisit]}
    if len(revisit) > 1:  # one seed has no other place to compare with
        elsewhere = (against.sum(1) - revisit) / (len(revisit) - 1)
        metrics["revisiting"].update(psnr_against_other_places=float(np.mean(elsewhere)),
                                     memory_margin_by_episode=[round(float(v), 3) for v in revisit - elsewhere])

    # 8. speed
    session.reset(episodes[0].frames[:prompt], episodes[0].actions[:prompt])
    times = []
    for a in episodes[0].actions[:40]:
        start = time.perf_counter()
        session.step(a)
        times.append(time.perf_counter() - start)
    steady = times[session.rollout.window:] or times
    metrics["speed"] = {"fps": 1 / statistics.median(steady), "latency_p90_ms": float(np.percentile(steady, 90)) * 1000,
                        "threads": torch.get_num_threads(), "compute": compute_precision().name,  # the session's
                        "cpu_capability": torch.backends.cpu.get_cpu_capability()}

    _write_report(Path(out), metrics, curve_p, curve_shuffled, curve_still, stats[0], low, high,
                  episodes[0], fakes[0], prompt, world.info.fps)
    _write_contact_sheet(Path(out) / "long_rollouts.png", long_fake, inside)
    _write_number_keys(Path(out) / "number_keys.png", [strip for _, strip in trials])
    _write_place_break(Path(out) / "place_break.png", block_trials, size)
    return metrics


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path: Path) -> None:
    """Write under a temporary name, then rename: a report never holds a half-written picture."""
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    fig.savefig(tmp, dpi=100)
    _pyplot().close(fig)
    tmp.replace(path)


def _write_report(out: Path, metrics: dict, curve, curve_shuffled, curve_still, stats, low, high, episode, imagined,
                  prompt, fps) -> None:
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(1, 4, figsize=(21, 4))
    h = np.arange(1, len(curve) + 1)
    ax[0].plot(h, curve, label="true actions")
    ax[0].plot(h, curve_shuffled, label="shuffled actions", linestyle="--")
    ax[0].plot(h, curve_still, label="last prompt frame held", linestyle=":", color="gray")
    ax[0].set(xlabel="frames after the prompt", ylabel="PSNR (dB)", title="autoregressive PSNR vs the real game")
    ax[0].legend()
    for k, name in enumerate(STATISTICS):
        ax[1].plot(stats[:, k], label=name, linewidth=0.8)
        ax[1].axhspan(low[k], high[k], alpha=0.08, color=f"C{k}")
    ax[1].set(xlabel="frame", ylabel="0..255", title="first long rollout's frame statistics (bands: real range)")
    ax[1].legend(fontsize=7)
    by_rollout = np.asarray(metrics["stability"]["in_range_by_rollout"])
    start = 100 * np.arange(by_rollout.shape[1])
    for i, share in enumerate(by_rollout):
        ax[2].plot(start, share, marker=".", linewidth=0.8, label=f"rollout {i + 1}")
    ax[2].plot(start, by_rollout.mean(0), color="black", linewidth=2, label="mean")
    ax[2].plot(start, metrics["stability"]["sharpness_vs_real_by_100_frames"], color="black", linestyle="--",
               label="sharpness, imagined / real")
    ax[2].set(xlabel="frames (100-frame windows)", ylabel="share of frames in range; sharpness ratio",
              ylim=(-0.05, 1.05), title="long rollouts: in the real range, and sharpness")
    ax[2].legend(fontsize=7)
    _plot_consistency(ax[3], metrics)
    fig.tight_layout()
    _save_figure(fig, out / "plots.png")
    real = episode.frames[prompt:]
    divider = np.full((real.shape[1], 2, 3), 255, np.uint8)
    video = [np.concatenate([r, divider, f], axis=1) for r, f in zip(real, imagined, strict=True)]
    write_video(out / "real_vs_imagined.mp4", [np.repeat(np.repeat(v, 2, 0), 2, 1) for v in video], fps=fps)
    atomic_write(out / "metrics.json", json.dumps(metrics, indent=2))


def _plot_consistency(ax, metrics: dict) -> None:
    """World consistency by horizon, between its ceiling and floor; realism in the title."""
    c, r = metrics["consistency"], metrics["realism"]
    h = np.arange(1, len(c["iou_by_horizon"]) + 1)
    ax.plot(h, c["iou_by_horizon"], label="imagined")
    ax.plot(h, c["real_iou_by_horizon"], label="real frames (ceiling)", linestyle="--", color="green")
    ax.plot(h, c["held_iou_by_horizon"], label="last prompt frame held (floor)", linestyle=":", color="gray")
    ax.set(xlabel="frames after the prompt", ylabel="mean IoU, judge vs the game's labels", ylim=(0, 1),
           title=f"world consistency\nrealism distance {r['distance']:.1f} (real vs real {r['real_floor']:.1f}, "
                 f"blurred {r['blurred_sigma1']:.1f})")
    ax.legend(fontsize=7)


def _write_contact_sheet(path: Path, rollouts: list[np.ndarray], inside: np.ndarray, columns: int = 20) -> None:
    """One row per long rollout: a frame every len / ``columns`` frames, framed red where it is out of
    the real range, so that where a rollout went (a wall close up, a flat haze) can be seen."""
    plt = _pyplot()
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


def _write_number_keys(path: Path, strips: list[np.ndarray]) -> None:
    plt = _pyplot()
    picture = np.concatenate(strips, axis=0)
    fig, ax = plt.subplots(figsize=(picture.shape[1] * 3 / 100, picture.shape[0] * 3 / 100 + 0.5))
    ax.imshow(picture, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("a number key pressed, 4 frames later, one seed a row: real | real without the press | imagined",
                 fontsize=7)
    fig.tight_layout()
    _save_figure(fig, path)


def _write_place_break(path: Path, trials: dict[str, list], size: tuple[int, int]) -> None:
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


def mean_error(per_episode) -> np.ndarray:
    """The standard error of the mean over episodes (axis 0); zero for a single episode."""
    x = np.asarray(per_episode)
    return x.std(axis=0, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.zeros(x.shape[1:])


def standard_error(ar: dict) -> np.ndarray:
    """Per horizon, the standard error of the mean autoregressive PSNR over episodes: how far apart
    two models must be to differ."""
    return mean_error(ar["psnr_by_episode"])


def read_report(path: str | Path) -> dict:
    """A report's metrics.json (given the file or its folder), checked to come from ``wm-video eval``."""
    path = Path(path)
    path = path / "metrics.json" if path.is_dir() else path
    try:
        m = json.loads(path.read_text())
        m["autoregressive"]["psnr_by_episode"], m["config"]["seeds"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a metrics.json from `wm-video eval` ({type(e).__name__}: {e})") from None
    return m


def compare_reports(a: dict, b: dict) -> str:
    """B against A: the ship rule's primary scores first, with standard errors (train.eval_judge), then
    the headline figures side by side, and B - A in autoregressive PSNR episode by
    episode (both models imagined the same episodes, so the difference is far less noisy than
    either mean), with its standard error."""
    if a["config"]["seeds"] != b["config"]["seeds"]:
        raise UserError("the reports are on different seeds; pair only reports of the same episodes")
    pa, pb = (np.asarray(m["autoregressive"]["psnr_by_episode"]) for m in (a, b))
    common = min(pa.shape[1], pb.shape[1])  # a --quick report imagines 16 frames, a full one 64
    d = pb[:, :common] - pa[:, :common]
    n, horizon = d.shape
    se = mean_error(d)

    def row(name: str, f) -> str:
        return f"  {name:<34}{f(a):>9.2f}{f(b):>9.2f}{f(b) - f(a):>+9.2f}"

    lines = [f"A {a['model']}", f"B {b['model']}", *primary_lines(a, b),
             "  guards: stability (frames in range) and frames/s below; PSNR and SSIM are reported, not a veto",
             f"  {'':<34}{'A':>9}{'B':>9}{'B - A':>9}",
             row("VAE PSNR (dB)", lambda m: m["vae"]["psnr"]),
             row("teacher-forced PSNR (dB)", lambda m: m["teacher_forced"]["psnr"]),
             *(row(f"controllability @{k.split('@')[1]} (dB)", lambda m, k=k: m["controllability"][k])
               for k in a["controllability"]),
             row("IDM accuracy, imagined / real", lambda m: m["action_following"]["ratio"]),
             *([row("number keys followed @4", lambda m: m["action_following"]["number_keys_followed@4"])]
               if all("number_keys_followed@4" in m["action_following"] for m in (a, b)) else []),
             *(row(f"{verb} followed @{after}", lambda m, k=f"{verb}_followed@{after}": m["action_following"][k])
               for verb in BLOCK_KEYS.values() for after in BLOCK_JUDGED
               if all(f"{verb}_followed@{after}" in m["action_following"] for m in (a, b))),
             row("stability, frames in range", lambda m: np.mean(m["stability"]["in_range_share_by_100_frames"])),
             *([row("long rollouts' sharpness / real", lambda m: m["stability"]["sharpness_vs_real"])]
               if all("sharpness_vs_real" in m["stability"] for m in (a, b)) else []),  # older reports lack it
             row("revisiting (dB)", lambda m: m["revisiting"]["psnr_after_360"]),
             *([row("revisiting, memory's margin (dB)",
                    lambda m: np.mean(m["revisiting"]["memory_margin_by_episode"]))]
               if all("memory_margin_by_episode" in m["revisiting"] for m in (a, b)) else []),
             row("frames/s", lambda m: m["speed"]["fps"]),
             f"  autoregressive PSNR, B - A over the same {n} episodes (± standard error):"]
    for h in (1, 4, 16, 32, 64):
        if h <= horizon:
            lines.append(f"    horizon {h:<8} {d[:, h - 1].mean():+.2f} ± {se[h - 1]:.2f} dB")
    for lo, hi in ((1, 16), (17, 32), (33, 64)):
        if hi <= horizon:
            m = d[:, lo - 1:hi].mean(axis=1)
            lines.append(f"    frames {lo}-{hi:<{8 - len(str(lo))}} {m.mean():+.2f} ± {mean_error(m):.2f} dB")
    if all("psnr_by_episode" in m["revisiting"] for m in (a, b)):  # older reports hold the mean alone
        r = np.subtract(b["revisiting"]["psnr_by_episode"], a["revisiting"]["psnr_by_episode"])
        lines.append(f"  revisiting, B - A over the same {n} episodes: {r.mean():+.2f} ± {mean_error(r):.2f} dB")
    sa, sb = a["stability"], b["stability"]
    if sa["frames"] == sb["frames"] and sa["rollouts"] == sb["rollouts"] and "in_range_by_rollout" in sa:
        # The same prompts and actions, so rollout by rollout; still noisy, as one rollout wanders by chance.
        r = 100 * (np.mean(sb["in_range_by_rollout"], axis=1) - np.mean(sa["in_range_by_rollout"], axis=1))
        lines.append(f"  long rollouts' frames in range, B - A over the same {len(r)} rollouts: "
                     f"{r.mean():+.1f} ± {mean_error(r):.1f} points")
    return "\n".join(lines)


def memory_margin(revisiting: dict) -> str:
    """The frame after the turn against other places, and memory's margin over that ("" where a report lacks it)."""
    margin = revisiting.get("memory_margin_by_episode")
    if not margin:  # a single seed, or a report older than the margin
        return ""
    return (f"against the other seeds' views {revisiting['psnr_against_other_places']:.2f} dB, so memory adds "
            f"{np.mean(margin):+.2f} ± {mean_error(margin):.2f} dB")


def block_key_line(following: dict, verb: str) -> str:
    presses = following[f"{verb}_presses"]
    if not presses:
        return "no press that shows on these seeds"
    return ("followed " + ", ".join(f"{following[f'{verb}_followed@{a}']:.0%} {a} frames after" for a in BLOCK_JUDGED)
            + f" the key went down ({presses} presses)")


def format_metrics(m: dict) -> str:
    ar, tf, st = m["autoregressive"], m["teacher_forced"], m["stability"]
    horizons = [h for h in (1, 4, 16, 64) if h <= len(ar["psnr_by_horizon"])]
    sem = standard_error(ar)
    still = "  ".join(f"{h}: {ar['still_psnr_by_horizon'][h - 1]:.2f}" for h in horizons)
    lines = [
        f"model {m['model']}",
        f"  VAE reconstruction        PSNR {m['vae']['psnr']:.2f} dB  SSIM {m['vae']['ssim']:.3f}",
        f"  teacher-forced next frame PSNR {tf['psnr']:.2f} dB  "
        f"SSIM {tf['ssim']:.3f}  (last frame copied: {tf['copy_last_frame_psnr']:.2f} dB)",
        "  autoregressive PSNR       " + "  ".join(f"{h}: {ar[f'psnr@{h}']:.2f} ± {sem[h - 1]:.2f}" for h in horizons),
        f"    last prompt frame held  {still}",
        *format_judged(m),
        "  controllability           " + "  ".join(f"dPSNR@{k.split('@')[1]}: {v:+.2f} dB"
                                                     for k, v in m["controllability"].items()),
        f"  action following (IDM)    {m['action_following']['idm_accuracy_imagined']:.2f} imagined vs "
        f"{m['action_following']['idm_accuracy_real']:.2f} real ({m['action_following']['ratio']:.0%})",
        *([f"    number keys             followed {m['action_following']['number_keys_followed@1']:.0%} 1 frame "
           f"after the press, {m['action_following']['number_keys_followed@4']:.0%} 4 frames after"]
          if "number_keys_followed@1" in m["action_following"] else []),  # older reports lack it
        *(f"    {f'{verb} ({key})':<24}{block_key_line(m['action_following'], verb)}"
          for key, verb in BLOCK_KEYS.items() if f"{verb}_presses" in m["action_following"]),
        f"  stability                 frames in the real range: {st['first_256_in_range']:.0%} of the first "
        f"{min(256, st['frames'])}, "
        f"{st['last_window_in_range']:.0%} of the last 100, {st['all_in_range']:.0%} of all {st['frames']} "
        f"({st['rollouts']} rollouts; the real game's own frames: {st.get('real_in_range', np.nan):.0%})",
        f"    sharpness               {st.get('sharpness_vs_real', np.nan):.0%} of the real frames' (median)",
        "    out of range because    " + (", ".join(f"{k} {v:.0%}" for k, v in sorted(
            st.get("out_of_range_because", {}).items(), key=lambda kv: -kv[1]) if v >= 0.01) or "-"),
        f"  revisiting                PSNR {m['revisiting']['psnr_after_360']:.2f} dB after a 360-degree turn"
        + (f"; {margin}" if (margin := memory_margin(m["revisiting"])) else ""),
        f"  speed                     {m['speed']['fps']:.1f} frames/s, "
        f"p90 latency {m['speed']['latency_p90_ms']:.0f} ms "
        f"({m['speed'].get('compute', 'bf16')} on {m['speed'].get('cpu_capability', 'a CPU')})",
    ]
    return "\n".join(lines)
