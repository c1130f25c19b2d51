"""The picture measures: reconstruction, next frame, rollouts by horizon, controllability, revisiting, speed.

Each takes real episodes (and what the model imagined of them) and returns its part of the report.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from tqdm import tqdm

from data_tools.dataset import Episode
from wm_video.actions import action_from_dict
from wm_video.metrics import psnr
from wm_video.rollout import WorldSession
from wm_video.world_model import WorldModel

from .episodes import quality, to_unit

HORIZONS = (1, 4, 16, 64)  # frames after the prompt the report names
CONTROL_HORIZONS = (4, 16)


def vae(world: WorldModel, session: WorldSession, episodes: list[Episode]) -> dict:
    """PSNR / SSIM of the VAE's reconstruction of every real frame."""
    real = np.concatenate([e.frames for e in episodes])
    recon = world.decode(world.encode(torch.from_numpy(real)), decoder=session.decoder).numpy()
    p, s = quality(recon, real)
    return {"vae": {"psnr": float(p.mean()), "ssim": float(s.mean())}}


def teacher_forced(session: WorldSession, episodes: list[Episode], prompt: int, per_episode: int) -> dict:
    """One frame imagined from real context, at ``per_episode`` points of each episode; beside it the
    last real frame copied (what a model that learnt nothing scores)."""
    tf_p, tf_s, copy_p = [], [], []
    for e in tqdm(episodes, desc="teacher-forced"):
        for t in np.linspace(prompt, len(e.frames) - 2, per_episode).astype(int):
            session.reset(e.frames[:t + 1], e.actions[:t + 1])
            p, s = quality(session.step(e.actions[t])[None], e.frames[t + 1:t + 2])
            tf_p.append(p[0])
            tf_s.append(s[0])
            copy_p.append(quality(e.frames[t:t + 1], e.frames[t + 1:t + 2])[0][0])
    return {"teacher_forced": {"psnr": float(np.mean(tf_p)), "ssim": float(np.mean(tf_s)),
                               "copy_last_frame_psnr": float(np.mean(copy_p))}}


def psnr_curves(episodes: list[Episode], fakes: list[np.ndarray], prompt: int) -> np.ndarray:
    """(episodes, horizon): PSNR of each imagined frame against the real one."""
    return np.stack([quality(f, e.frames[prompt:])[0] for e, f in zip(episodes, fakes, strict=True)])


def still_curve(episodes: list[Episode], prompt: int) -> np.ndarray:
    """Per horizon, the mean PSNR of the last prompt frame held still: a model that learnt nothing."""
    horizon = len(episodes[0].frames) - prompt
    return np.mean([quality(np.repeat(e.frames[prompt - 1:prompt], horizon, 0), e.frames[prompt:])[0]
                    for e in episodes], axis=0)


def autoregressive(episodes: list[Episode], fakes: list[np.ndarray], prompt: int) -> dict:
    """PSNR / SSIM by horizon when only the prompt is real, beside the last prompt frame held."""
    by_episode = psnr_curves(episodes, fakes, prompt)
    curve_s = np.mean([quality(f, e.frames[prompt:])[1] for e, f in zip(episodes, fakes, strict=True)], axis=0)
    curve_p = by_episode.mean(0)
    return {"autoregressive": {"psnr_by_horizon": curve_p.round(3).tolist(),
                               "ssim_by_horizon": curve_s.round(4).tolist(),
                               **{f"psnr@{h}": float(curve_p[h - 1]) for h in HORIZONS if h <= len(curve_p)},
                               # per episode: the standard error, and two models compared pairwise
                               "psnr_by_episode": np.round(by_episode, 2).tolist(),
                               "still_psnr_by_horizon": still_curve(episodes, prompt).round(3).tolist()}}


def controllability(episodes: list[Episode], fakes: list[np.ndarray], shuffled: list[np.ndarray], prompt: int
                    ) -> dict:
    """Autoregressive PSNR with the true actions minus with them shuffled in time (Genie's delta-PSNR)."""
    true, wrong = psnr_curves(episodes, fakes, prompt), psnr_curves(episodes, shuffled, prompt)
    hs = [h for h in CONTROL_HORIZONS if h <= true.shape[1]]
    return {"controllability": {f"delta_psnr@{h}": float(true.mean(0)[h - 1] - wrong.mean(0)[h - 1]) for h in hs},
            "controllability_by_episode": {f"delta_psnr@{h}": [round(float(p[h - 1] - q[h - 1]), 3)
                                                                for p, q in zip(true, wrong, strict=True)]
                                           for h in hs}}


def revisiting(session: WorldSession, episodes: list[Episode], prompt: int) -> dict:
    """Turn 360 degrees in place: PSNR of the frame after against the one before, and against the
    other seeds' frames before their turns (what a frame that remembers nothing scores, more if
    blurred): the margin between the two is what memory adds."""
    turn = action_from_dict({"camera.yaw": 10.0})
    after = []
    for e in episodes:
        session.reset(e.frames[:prompt], e.actions[:prompt])
        after.append([session.step(turn) for _ in range(36)][-1])
    before = to_unit(np.stack([e.frames[prompt - 1] for e in episodes]))
    against = np.stack([psnr(f[None], before).numpy() for f in to_unit(np.stack(after))])  # (after, before)
    revisit = np.diag(against)
    part = {"psnr_after_360": float(np.mean(revisit)), "psnr_by_episode": [round(float(v), 3) for v in revisit]}
    if len(revisit) > 1:  # one seed has no other place to compare with
        elsewhere = (against.sum(1) - revisit) / (len(revisit) - 1)
        part.update(psnr_against_other_places=float(np.mean(elsewhere)),
                    memory_margin_by_episode=[round(float(v), 3) for v in revisit - elsewhere])
    return {"revisiting": part}


def speed(session: WorldSession, episode: Episode, prompt: int, steps: int = 40) -> dict:
    """Frames/s (median) and 90th-percentile latency, once the cache is full."""
    session.reset(episode.frames[:prompt], episode.actions[:prompt])
    times = []
    for a in episode.actions[:steps]:
        start = time.perf_counter()
        session.step(a)
        times.append(time.perf_counter() - start)
    steady = times[session.rollout.window:] or times
    compute = "bf16" if session.dtype == torch.bfloat16 else "fp32"
    return {"speed": {"fps": 1 / statistics.median(steady), "latency_p90_ms": float(np.percentile(steady, 90)) * 1000,
                      "threads": torch.get_num_threads(), "compute": compute,
                      "cpu_capability": torch.backends.cpu.get_cpu_capability()}}
