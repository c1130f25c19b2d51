"""DiT training throughput on this CPU: frames/s and achieved GFLOP/s against a matmul timed in the same run.

Both in the compute dtype (wm_video.precision): bf16 autocast where this CPU has native bf16, else fp32,
as `wm-video train` runs.

    python benchmarks/bench_dit.py [--model default] [--batch 8] [--frames 16] [--compile]

A training step is one of three kinds (train/train_dit.py): diffusion forcing, teacher forcing on
the real past, teacher forcing on the model's own past (an extra no-grad forward). Each is timed
on its own; the summary weighs them as the default config draws them.

FLOPs are model FLOPs: torch's FlopCounterMode for the matmuls, plus attention, which it does not
count on CPUs (it has no formula for the CPU flash-attention kernel): 4 * d FLOPs per query-key
pair the mask allows, forward, and twice that backward. Masked-out pairs are not counted, although
the kernel spends time on some of them.

Target (dynamics issue): >= 40% of the matmul's GFLOP/s in the same dtype.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, matmul_gflops, median_seconds  # noqa: E402

from train.configs import DIT_PRESETS, DiTTrainConfig  # noqa: E402
from train.train_dit import dit_loss  # noqa: E402
from wm_video.models.dit import WorldDiT  # noqa: E402
from wm_video.precision import compute_precision  # noqa: E402

PRECISION = compute_precision("cpu")


def autocast():
    """bf16 autocast where bf16 is the compute dtype, as accelerate's mixed precision does; else plain fp32."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=PRECISION.name == "bf16")


def allowed_pairs(query: torch.Tensor, key: torch.Tensor, attn_mask: torch.Tensor | None, is_causal: bool) -> int:
    """Query-key pairs attention computes, summed over batch and heads."""
    b, h, n, s = *query.shape[:2], query.shape[-2], key.shape[-2]
    if attn_mask is None:
        per_head = n * (n + 1) // 2 if is_causal else n * s
        return b * h * per_head
    allowed = attn_mask if attn_mask.dtype == torch.bool else attn_mask > float("-inf")
    return int(allowed.expand(b, h, n, s).sum())


def attention_forward_flops(query, key, value, dropout_p=0.0, is_causal=False, *, attn_mask=None, scale=None,
                            out_val=None):
    return 4 * query.shape[-1] * allowed_pairs(query, key, attn_mask, is_causal)


def attention_backward_flops(grad_out, query, key, value, out, logsumexp, dropout_p, is_causal, *, attn_mask=None,
                             scale=None, out_val=None):
    return 2 * attention_forward_flops(query, key, value, is_causal=is_causal, attn_mask=attn_mask)


attention_forward_flops._get_raw = attention_backward_flops._get_raw = True  # FlopCounterMode: pass the tensors
ATTENTION_FLOPS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: attention_forward_flops,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: attention_backward_flops,
}


def measure(model, forward, opt, z: torch.Tensor, a: torch.Tensor, cfg: DiTTrainConfig) -> tuple[float, int, int]:
    """(median seconds per training step, its FLOPs, of which attention) for steps drawn as ``cfg`` says."""

    def step() -> None:
        with autocast():
            loss, _ = dit_loss(forward, z, a, cfg)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    seconds = median_seconds(step, repeats=5, warmup=2)
    with FlopCounterMode(display=False, custom_mapping=ATTENTION_FLOPS) as counter:
        with autocast():
            loss, _ = dit_loss(model, z, a, cfg)
        loss.backward()
    opt.zero_grad(set_to_none=True)
    counts = counter.get_flop_counts()["Global"]
    attention = sum(counts.get(op, 0) for op in ATTENTION_FLOPS)
    return seconds, counter.get_total_flops(), attention


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", choices=list(DIT_PRESETS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()

    model = WorldDiT(latent_channels=16, latent_size=(16, 16), **DIT_PRESETS[args.model])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    forward = torch.compile(model) if args.compile else model
    z = torch.randn(args.batch, args.frames, 16, 16, 16)
    a = torch.randn(args.batch, args.frames, 25)
    default = DiTTrainConfig()
    df, own = default.diffusion_forcing, default.own_past
    kinds = {  # name: (diffusion_forcing, own_past) that always draw this kind, its share under the defaults
        "diffusion forcing": (1.0, 0.0, df),
        "teacher forcing, real past": (0.0, 0.0, (1 - df) * (1 - own)),
        "teacher forcing, own past": (0.0, 1.0, (1 - df) * own),
    }
    ceiling = matmul_gflops()  # timed again after the steps; the higher one counts (noisy, shared machines)
    params = sum(p.numel() for p in model.parameters())
    name = "bf16 autocast" if PRECISION.name == "bf16" else "fp32"
    print(f"\n{machine()}")
    print(f"DiT '{args.model}' ({params / 1e6:.1f}M params, {model.tokens_per_frame} tokens/frame), "
          f"batch {args.batch} x {args.frames} frames, {name}, {torch.get_num_threads()} threads"
          f"{', compiled' if args.compile else ''}")
    print(f"{'step kind':<28}{'share':>7}{'s/step':>9}{'GFLOP':>8}{'of them attn':>14}{'GFLOP/s':>9}{'frames/s':>10}")
    mean_seconds = mean_flops = 0.0
    for name, (diffusion_forcing, own_past, share) in kinds.items():
        cfg = DiTTrainConfig(clip_frames=args.frames, diffusion_forcing=diffusion_forcing, own_past=own_past)
        seconds, flops, attention = measure(model, forward, opt, z, a, cfg)
        print(f"{name:<28}{share:>7.0%}{seconds:>9.2f}{flops / 1e9:>8.0f}{attention / flops:>14.0%}"
              f"{flops / seconds / 1e9:>9.0f}{args.batch * args.frames / seconds:>10.1f}")
        mean_seconds += share * seconds
        mean_flops += share * flops
    achieved = mean_flops / mean_seconds / 1e9
    ceiling = max(ceiling, matmul_gflops())
    print(f"mixed as in training: {mean_seconds:.2f} s/step, {args.batch * args.frames / mean_seconds:.1f} "
          f"frames/s, {achieved:.0f} GFLOP/s = {achieved / ceiling:.0%} of the {PRECISION.name} matmul's {ceiling:.0f} "
          "(target >= 40%)")


if __name__ == "__main__":
    main()
