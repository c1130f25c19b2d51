"""Can a DiT learn to draw a frame again from a memory frame? A toy that prints how fast it learns.

    python benchmarks/memory_toy.py [--steps 4000]

Random latents P and Q laid out P, Q, P: the last P can only come from the memory frame. A
tests-size DiT with one memory frame trains on memory steps alone (train_dit.diffusion_forcing_loss) and
is scored by its error on the last frame from noise level 0.95, against 1.0 for guessing the mean.
With ``memory_stride`` 1 the memory frame is always 2 frames back (clips P Q P); with 3 it lies 2-4
back (clips P P P Q P), mostly with a frame before it in the game. Both learn within 1,000 steps
since memory frames are encoded on their own; while a memory frame also took in the frame before
it, the second had not learnt in 4,000 (docs/experiments.md, "Memory frames").
"""

from __future__ import annotations

import argparse
import time

import torch

from train.configs import DIT_PRESETS, DiTTrainConfig
from train.train_dit import dit_loss, memory_span
from wm_video.diffusion import add_noise, predicted_clean
from wm_video.models.dit import WorldDiT

SHAPE = (4, 4, 4)  # latent C, h, w


def clips(stride: int, batch: int) -> torch.Tensor:
    """P repeated on every frame that may be the memory frame, then Q, then P again."""
    p, q = torch.randn(batch, 1, *SHAPE), torch.randn(batch, 1, *SHAPE)
    return torch.cat([p.repeat(1, stride, 1, 1, 1), q, p], 1)


@torch.no_grad()
def last_frame_error(model: WorldDiT, stride: int, back: int) -> float:
    """Error on the last frame with the memory frame ``back`` frames before it."""
    torch.manual_seed(1)
    z = clips(stride, 256)
    index = torch.tensor([z.shape[1] - 1 - back, z.shape[1] - 2, z.shape[1] - 1])
    levels = torch.zeros(len(z), len(index))
    levels[:, -1] = 0.95
    x = add_noise(z[:, index], torch.randn_like(z[:, index]), levels)
    before = torch.cat([torch.zeros_like(z[:, :1]), z], 1)[:, index]  # the frames before, clean
    before[:, 0] = 0  # the memory frame is encoded on its own, as in training and play
    v = model(x, levels, torch.zeros(len(z), len(index), 25), positions=index, before=before)
    return (predicted_clean(x, v, levels)[:, -1] - z[:, -1]).pow(2).mean().item()


def run(stride: int, steps: int) -> list[tuple[int, list[float]]]:
    """(step, [error with the memory frame 2, 3, ... back]) every 1,000 steps."""
    torch.manual_seed(0)
    model = WorldDiT(latent_channels=SHAPE[0], latent_size=SHAPE[1:], **DIT_PRESETS["tiny"],
                     memory_frames=1, memory_stride=stride)
    cfg = DiTTrainConfig(clip_frames=3, diffusion_forcing=1.0, memory_share=1.0, action_dropout=0.0)
    assert memory_span(cfg.clip_frames, 1, stride) == stride + 2
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    scores = []
    for step in range(1, steps + 1):
        z = clips(stride, 16)
        loss, _ = dit_loss(model, z, torch.zeros(*z.shape[:2], 25), cfg, memory=(1, stride))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 1000 == 0 or step == steps:
            scores.append((step, [last_frame_error(model, stride, back) for back in range(2, stride + 2)]))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    args = parser.parse_args()
    for stride, where in ((1, "always 2 frames back"), (3, "2-4 frames back")):
        start = time.perf_counter()
        scores = run(stride, args.steps)
        print(f"memory frame {where} (stride {stride}), last-frame error (guessing the mean: 1.0; "
              f"{time.perf_counter() - start:.0f} s):")
        for step, errors in scores:
            print(f"  after {step:5d} steps: " + ", ".join(f"{e:.2f} with it {b} back"
                                                         for b, e in enumerate(errors, start=2)))


if __name__ == "__main__":
    main()
