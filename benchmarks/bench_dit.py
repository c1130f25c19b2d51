"""DiT training throughput on this CPU: frames/s and achieved GFLOP/s against a bf16 matmul timed in the same run.

    python benchmarks/bench_dit.py [--model default] [--batch 8] [--frames 16]

Target (dynamics issue): >= 40% of the bf16 matmul's GFLOP/s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import matmul_gflops, median_seconds  # noqa: E402

from train.configs import DIT_PRESETS, DiTTrainConfig  # noqa: E402
from train.train_dit import dit_loss  # noqa: E402
from wm_video.models.dit import WorldDiT  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", choices=list(DIT_PRESETS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()

    model = WorldDiT(latent_channels=16, latent_size=(16, 16), **DIT_PRESETS[args.model])
    cfg = DiTTrainConfig(model=args.model, clip_frames=args.frames)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    forward = torch.compile(model) if args.compile else model
    z = torch.randn(args.batch, args.frames, 16, 16, 16)
    a = torch.randn(args.batch, args.frames, 25)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss, _ = dit_loss(forward, z, a, cfg)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    with FlopCounterMode(display=False) as counter:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss, _ = dit_loss(model, z, a, cfg)
        loss.backward()
    opt.zero_grad(set_to_none=True)
    flops = counter.get_total_flops()
    seconds = median_seconds(step, repeats=5, warmup=2)
    ceiling = matmul_gflops()
    achieved = flops / seconds / 1e9
    params = sum(p.numel() for p in model.parameters())
    print(f"\nDiT '{args.model}' ({params / 1e6:.1f}M params, {model.tokens_per_frame} tokens/frame), "
          f"batch {args.batch} x {args.frames} frames, bf16 autocast, {torch.get_num_threads()} threads")
    print(f"{'step time':<28}{seconds:>10.2f} s")
    print(f"{'training frames/s':<28}{args.batch * args.frames / seconds:>10.1f}")
    print(f"{'GFLOP per step (fwd+bwd)':<28}{flops / 1e9:>10.1f}")
    print(f"{'achieved GFLOP/s':<28}{achieved:>10.1f}")
    print(f"{'bf16 matmul GFLOP/s':<28}{ceiling:>10.1f}")
    print(f"share of the matmul ceiling: {achieved / ceiling:.0%} (target >= 40%)")


if __name__ == "__main__":
    main()
