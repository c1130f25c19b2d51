"""Training clips from a latent dataset: fixed-length windows of scaled latents and their actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from data_tools.dataset import DatasetError, read_info
from data_tools.latents import LatentInfo, read_latent_episodes
from wm_video.actions import ACTION_INDEX
from wm_video.errors import UserError


class LatentClips(torch.utils.data.Dataset):
    """Every window of ``frames`` consecutive frames (stride ``frames // 2``) of every long-enough episode.

    An item is ``(latents (T, C, h, w) float32 scaled to unit variance, actions (T, 25))`` where
    ``actions[i]`` is the action that *produced* frame i (the one pressed on frame i - 1;
    zeros before an episode's first frame): what the model conditions each frame on.
    """

    def __init__(self, root: str | Path, frames: int):
        self.info, episodes = read_latent_episodes(root)
        self.fps = read_info(root).fps  # a latent dataset keeps its source's info.json
        self.frames = frames
        self.latents = [torch.from_numpy(z) for z, _ in episodes]
        self.actions = [torch.from_numpy(np.concatenate([np.zeros((1, a.shape[1]), np.float32), a[:-1]]))
                        for _, a in episodes]
        stride = max(1, frames // 2)
        self.index = [(e, s) for e, z in enumerate(self.latents) for s in range(0, len(z) - frames + 1, stride)]
        if not self.index:
            longest = max((len(z) for z in self.latents), default=0)
            raise DatasetError(f"{root}: no episode has {frames} frames for a training clip "
                               f"(the longest has {longest})")

    @property
    def latent_info(self) -> LatentInfo:
        return self.info

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        e, s = self.index[i]
        z = self.latents[e][s:s + self.frames].float() * self.info.scaling_factor
        return z, self.actions[e][s:s + self.frames]

    def holding(self, action_names: list[str]) -> torch.Tensor:
        """Per clip, whether one of the named actions is pressed on a frame the clip predicts from the one before."""
        unknown = [n for n in action_names if n not in ACTION_INDEX]
        if unknown:
            raise UserError(f"unknown action(s) {', '.join(unknown)}; the names are in wm_video/actions.py")
        columns = [ACTION_INDEX[n] for n in action_names]
        return torch.tensor([bool(self.actions[e][s + 1:s + self.frames, columns].any()) for e, s in self.index])
