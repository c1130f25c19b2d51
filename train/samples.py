"""The sample video both DiT trainers write as they go: real | imagined, as a GIF and in TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tensorboard.compat.proto.summary_pb2 import Summary

from wm_video.actions import ACTION_DIM
from wm_video.rollout import Rollout, RolloutConfig
from wm_video.video import write_video
from wm_video.world_model import WorldModel

from .clips import LatentClips


@torch.no_grad()
def sample_video(accelerator, world: WorldModel, clips: LatentClips, frames: int, step: int, out: Path) -> None:
    """Imagine ``frames`` frames from the longest episode's first 4 under its recorded actions; a GIF,
    real | imagined, in ``out/samples`` and TensorBoard."""
    episode = max(range(len(clips.latents)), key=lambda e: len(clips.latents[e]))
    real = clips.latents[episode].float() * clips.info.scaling_factor
    producing = clips.actions[episode]
    n = min(len(real), frames)
    prompt = 4
    rollout = Rollout(world.dit, RolloutConfig(seed=step), one_pass=world.info.sampler == "one_pass")
    pressed = torch.cat([producing[1:], torch.zeros(1, ACTION_DIM)])  # action pressed on frame i
    rollout.reset(real[:prompt], pressed[:prompt])
    imagined = [real[i] for i in range(prompt)] + [rollout.step(pressed[i - 1]) for i in range(prompt, n)]
    fake = world.decode(torch.stack(imagined)).numpy()
    true = world.decode(real[:n]).numpy()
    pairs = np.concatenate([true, fake], axis=2)  # real | imagined
    gif = out / "samples" / f"step_{step:07d}.gif"
    write_video(gif, pairs, fps=world.info.fps)
    # TensorBoard's image panel plays an animated GIF; its add_video would need moviepy for the same.
    image = Summary.Image(height=pairs.shape[1], width=pairs.shape[2], colorspace=3,
                          encoded_image_string=gif.read_bytes())
    tracker = accelerator.get_tracker("tensorboard", unwrap=True)
    tracker.file_writer.add_summary(Summary(value=[Summary.Value(tag="samples/real_vs_imagined", image=image)]), step)
