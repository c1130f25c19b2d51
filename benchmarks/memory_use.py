"""Does a trained memory model draw on its memory frames? Its memory-step loss with them seen and hidden.

    python benchmarks/memory_use.py --model RUN/model --data LATENTS [--batches 32]

Memory steps of training (train_dit.diffusion_forcing_loss) on clips of a latent dataset, each
batch three times with the same layout, noise and levels: as trained, and with the memory frames
hidden from one recent frame: the first (whose only past in the layout is the memory frames, 1 to
stride frames back) or the last (which has the clip's other recent frames before it, as a frame in
play has its window, and memory frames 12 to 48 frames back: revisiting). A frame that uses the
memory has the lower loss with it seen; the rise of that frame's loss when hidden is printed with
its standard error over batches.

In most clips the last frame shows little that a memory frame showed, so the rise is printed again for
batches of clips that turn back: the player stands still (no walking or jumping) from a memory frame
to the last frame and faces within 20 degrees of where that memory frame faced (yaw and pitch summed
from the clip's camera actions). Recordings made with ``wm-video record --look-around`` hold them.
"""

from __future__ import annotations

import argparse

import torch

from train.clips import LatentClips
from train.configs import DiTTrainConfig
from train.train_dit import diffusion_forcing_loss, memory_layout, memory_span
from wm_video.actions import ACTION_INDEX
from wm_video.models.dit import WorldDiT
from wm_video.models.storage import load_model


def memory_hidden(model: WorldDiT, memory: int, row: int):
    """``model`` with the recent frame laid out at ``row`` kept from seeing the ``memory`` frames laid out first."""
    def forward(x, t, actions, frame_mask, **kwargs):
        frame_mask = frame_mask.clone()
        frame_mask[row, :memory] = False
        return model(x, t, actions, frame_mask=frame_mask, **kwargs)
    return forward


WALKING = [ACTION_INDEX[k] for k in ("forward", "back", "left", "right", "jump")]


def turns_back(actions: torch.Tensor, index: torch.Tensor, memory: int, degrees: float = 20.0) -> bool:
    """Whether the clip's last frame faces, from where it stood, within ``degrees`` of one of its memory frames
    (laid out at ``index[:memory]``). ``actions[i]`` produced frame i, so frames m..j differ by actions m+1..j."""
    last = int(index[-1])
    for m in index[:memory].tolist():
        between = actions[m + 1:last + 1]
        if between[:, WALKING].any():
            continue
        yaw, pitch = between[:, ACTION_INDEX["camera.yaw"]].sum(), between[:, ACTION_INDEX["camera.pitch"]].sum()
        if min(yaw % 360, -yaw % 360) <= degrees and abs(pitch) <= degrees:
            return True
    return False


def memory_step_loss(model, latents, actions, cfg, memory: int, stride: int, seed: int) -> float:
    """The memory-step loss of a batch, a mean over its recent frames; one seed gives one layout, noise and levels."""
    torch.manual_seed(seed)
    return diffusion_forcing_loss(model, latents, actions, cfg, memory, stride)[0].item()


def report(name: str, values: list[float]) -> None:
    d = torch.tensor(values)
    share = (d > 0).float().mean()
    print(f"  {name:18s} {d.mean():+.4f} +- {d.std() / len(d) ** 0.5:.4f} (in {share:.0%} of batches)")


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
    rows = {"first recent frame": memory, "last recent frame": cfg.clip_frames - 1}
    rises, losses = {name: [] for name in rows}, []
    recent = cfg.clip_frames - memory  # a frame's rise is the mean's rise times the recent frames
    for i, (latents, actions) in zip(range(args.batches), loader, strict=False):
        losses.append(memory_step_loss(model, latents, actions, cfg, memory, stride, seed=i))
        for name, row in rows.items():
            hidden = memory_step_loss(memory_hidden(model, memory, row), latents, actions, cfg, memory, stride, seed=i)
            rises[name].append((hidden - losses[-1]) * recent)
    print(f"{args.model} on {args.data}: {len(losses)} batches of {args.batch_size} clips, {memory} memory frames "
          f"{stride} apart; memory-step loss as trained {sum(losses) / len(losses):.4f} a frame; with the memory "
          f"hidden from one frame, its loss rises by:")
    for name, values in rises.items():
        report(name, values)

    # The same for clips that turn back; the seed fixes the batch's layout (memory_layout draws first).
    order = torch.randperm(len(clips), generator=torch.Generator().manual_seed(1)).tolist()
    back, found, tried = [], 0, 0
    for i in range(args.batches):
        torch.manual_seed(i)
        index = memory_layout(clips.frames, cfg.clip_frames, memory, stride)
        batch = []
        while order and len(batch) < args.batch_size:
            tried += 1
            clip = clips[order.pop()]
            if turns_back(clip[1], index, memory):
                batch.append(clip)
        if len(batch) < args.batch_size:
            break
        found += len(batch)
        latents, actions = (torch.stack(t) for t in zip(*batch, strict=True))
        seen = memory_step_loss(model, latents, actions, cfg, memory, stride, seed=i)
        hidden = memory_step_loss(memory_hidden(model, memory, cfg.clip_frames - 1), latents, actions, cfg, memory,
                                  stride, seed=i)
        back.append((hidden - seen) * recent)
    print(f"clips that turn back to a memory frame's view: {found} of {tried} looked at ({found / max(tried, 1):.0%})")
    if len(back) >= 2:
        report("last recent frame", back)
    else:
        print("  too few for two batches: record more episodes with --look-around")


if __name__ == "__main__":
    main()
