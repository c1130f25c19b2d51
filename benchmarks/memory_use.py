"""Does a trained memory model draw on its memory frames? Its memory-step loss with them seen and hidden.

    python benchmarks/memory_use.py --model RUN/model --data LATENTS [--batches 32]

Memory steps of training (train_dit.diffusion_forcing_loss) on clips of a latent dataset, each
batch three times with the same layout, noise and levels: as trained, and with the memory frames
hidden from one recent frame: the first (whose only past in the layout is the memory frames, 1 to
stride frames back) or the last (which has the clip's other recent frames before it, as a frame in
play has its window, and memory frames 12 to 48 frames back: revisiting). A frame that uses the
memory has the lower loss with it seen; the rise of that frame's loss when hidden is printed with
its standard error over batches.
"""

from __future__ import annotations

import argparse

import torch

from train.clips import LatentClips
from train.configs import DiTTrainConfig
from train.train_dit import diffusion_forcing_loss, memory_span
from wm_video.models.dit import WorldDiT
from wm_video.models.loading import load_model


def memory_hidden(model: WorldDiT, memory: int, row: int):
    """``model`` with the recent frame laid out at ``row`` kept from seeing the ``memory`` frames laid out first."""
    def forward(x, t, actions, frame_mask, **kwargs):
        frame_mask = frame_mask.clone()
        frame_mask[row, :memory] = False
        return model(x, t, actions, frame_mask=frame_mask, **kwargs)
    return forward


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained model folder with memory frames")
    parser.add_argument("--data", required=True, help="a latent dataset (from encode)")
    parser.add_argument("--batches", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    model = load_model(WorldDiT, f"{args.model}/dit").eval()
    memory, stride = model.config.memory_frames, model.config.memory_stride
    if not memory:
        raise SystemExit(f"{args.model}: the model has no memory frames (memory_frames 0)")
    cfg = DiTTrainConfig(action_dropout=0.0)
    clips = LatentClips(args.data, memory_span(cfg.clip_frames, memory, stride))
    loader = torch.utils.data.DataLoader(clips, batch_size=args.batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    recent = cfg.clip_frames - memory
    rows = {"first recent frame": memory, "last recent frame": cfg.clip_frames - 1}
    rises, losses = {name: [] for name in rows}, []
    for i, (latents, actions) in zip(range(args.batches), loader, strict=False):
        torch.manual_seed(i)
        seen, _ = diffusion_forcing_loss(model, latents, actions, cfg, memory, stride)
        losses.append(seen.item())
        for name, row in rows.items():
            torch.manual_seed(i)
            hidden, _ = diffusion_forcing_loss(memory_hidden(model, memory, row), latents, actions, cfg, memory, stride)
            rises[name].append((hidden - seen).item() * recent)  # the loss is a mean over the recent frames
    print(f"{args.model} on {args.data}: {args.batches} batches of {args.batch_size} clips, {memory} memory frames "
          f"{stride} apart; memory-step loss as trained {sum(losses) / len(losses):.4f} a frame; with the memory "
          f"hidden from one frame, its loss rises by:")
    for name, values in rises.items():
        d = torch.tensor(values)
        share = (d > 0).float().mean()
        print(f"  {name:18s} {d.mean():+.4f} +- {d.std() / len(d) ** 0.5:.4f} (in {share:.0%} of batches)")


if __name__ == "__main__":
    main()
