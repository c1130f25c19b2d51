"""``evaluate``: every measure of a world model against the real game, written as a report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_tools.dataset import atomic_write
from data_tools.game.blocks import LABEL_NAMES
from wm_video.errors import UserError
from wm_video.judge import FrameJudge, load_judge
from wm_video.rollout import RolloutConfig, WorldSession
from wm_video.world_model import PROMPT_FRAMES, WorldModel

from . import idm, keys, long_rollouts, measures, pictures
from .episodes import imagine, real_episode, shuffled_in_time
from .judged import consistency, realism, realism_units


@dataclass
class EvalConfig:
    # Never used in training. Sixteen, because one episode's 64-frame PSNR swings by several dB.
    seeds: list[int] = field(default_factory=lambda: list(range(9001, 9017)))
    prompt: int = PROMPT_FRAMES  # real frames before imagining
    horizon: int = 64  # autoregressive frames per episode
    teacher_forced: int = 16  # teacher-forced predictions per episode
    stability_frames: int = 2000
    stability_rollouts: int = 4  # from the first seeds
    idm_seeds: list[int] = field(default_factory=lambda: [9101, 9102, 9103, 9104, 9105, 9106])
    idm_frames: int = 400  # real frames per IDM training seed
    idm_steps: int = 600
    rollout: RolloutConfig = field(default_factory=RolloutConfig)  # the sampler: steps, shift, window, ...
    judge: str | None = None  # the FrameJudge folder for consistency and realism (default: the shipped one)


def game_judge(folder: str | None) -> FrameJudge:
    """The FrameJudge, refused unless it labels the game's classes."""
    judge = load_judge(folder)
    if tuple(judge.config.class_names) != LABEL_NAMES:
        raise UserError(f"{folder or 'the shipped judge'}: labels {judge.config.class_names}, not the game's "
                        f"{LABEL_NAMES}; train one on this game's `record --labels` data")
    return judge


def evaluate(model: str | Path, out: str | Path, cfg: EvalConfig) -> dict:
    world = WorldModel.load(model)
    judge = game_judge(cfg.judge)
    size = (world.info.width, world.info.height)
    session = WorldSession(world, cfg.rollout, compile=True)
    prompt = min(cfg.prompt, session.rollout.window - 1)

    # The real game, and what the model imagines of it from the same prompts under the same actions.
    episodes = [real_episode(s, prompt + cfg.horizon, size) for s in tqdm(cfg.seeds, desc="real episodes")]
    fakes = [imagine(session, e, prompt) for e in tqdm(episodes, desc="autoregressive")]
    rng = np.random.default_rng(0)
    shuffled = [imagine(session, e, prompt, shuffled_in_time(e.actions, prompt, rng))
                for e in tqdm(episodes, desc="shuffled actions")]
    long_real = [real_episode(s, prompt + cfg.stability_frames, size) for s in cfg.seeds[:cfg.stability_rollouts]]
    long_fake = [imagine(session, e, prompt) for e in tqdm(long_real, desc="long rollouts")]
    after_prompt = [e.frames[prompt:] for e in episodes]
    long_after_prompt = [e.frames[prompt:] for e in long_real]
    low, high = long_rollouts.real_range(np.concatenate([e.frames for e in long_real + episodes]))
    inverse = idm.train_idm([real_episode(s, cfg.idm_frames, size) for s in tqdm(cfg.idm_seeds, desc="IDM data")],
                            steps=cfg.idm_steps)
    number_keys, strips = keys.number_keys(session, cfg.seeds, size, prompt)
    place_break, block_trials = keys.place_break(session, cfg.seeds, size, prompt)

    report: dict = {"model": str(model), "config": asdict(cfg)}
    report |= measures.vae(world, session, episodes)
    report |= measures.teacher_forced(session, episodes, prompt, cfg.teacher_forced)
    report |= measures.autoregressive(episodes, fakes, prompt)
    report |= measures.controllability(episodes, fakes, shuffled, prompt)
    report["consistency"] = consistency(judge, fakes, after_prompt, [e.labels[prompt:] for e in episodes],
                                        [e.frames[prompt - 1] for e in episodes])
    report["action_following"] = {**idm.action_following(inverse, episodes, fakes, prompt), **number_keys,
                                  **place_break}
    report["stability"] = {**long_rollouts.stability(long_fake, long_after_prompt, low, high),
                           **long_rollouts.sharpness_vs_real(long_fake, long_after_prompt)}
    report["realism"] = realism(judge, *realism_units(long_fake, long_after_prompt, fakes, after_prompt))
    report |= measures.revisiting(session, episodes, prompt)
    report |= measures.speed(session, episodes[0], prompt)

    out = Path(out)
    pictures.write_plots(out / "plots.png", report, episodes, fakes, shuffled, long_fake[0], low, high, prompt)
    pictures.write_side_by_side(out / "real_vs_imagined.mp4", episodes[0].frames[prompt:], fakes[0], world.info.fps)
    pictures.write_contact_sheet(out / "long_rollouts.png", long_fake, low, high)
    pictures.write_number_keys(out / "number_keys.png", strips)
    pictures.write_place_break(out / "place_break.png", block_trials, size)
    atomic_write(out / "metrics.json", json.dumps(report, indent=2))
    return report
