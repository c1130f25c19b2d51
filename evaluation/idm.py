"""Action following: an inverse dynamics model (IDM), trained on real frame pairs, judges imagined ones."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from data_tools.dataset import Episode
from wm_video.actions import ACTION_INDEX

from .episodes import to_unit

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


def action_following(idm: InverseDynamics, episodes: list[Episode], fakes: list[np.ndarray], prompt: int) -> dict:
    """The IDM's accuracy on imagined transitions (from the last prompt frame on) over its accuracy on real ones."""
    real = float(np.mean([idm_accuracy(idm, e.frames[prompt - 1:], e.actions[prompt - 1:]) for e in episodes]))
    fake = float(np.mean([idm_accuracy(idm, np.concatenate([e.frames[prompt - 1:prompt], f]), e.actions[prompt - 1:])
                          for e, f in zip(episodes, fakes, strict=True)]))
    return {"idm_accuracy_real": real, "idm_accuracy_imagined": fake, "ratio": fake / max(real, 1e-9)}
