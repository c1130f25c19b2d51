"""End-to-end play speed on this CPU: frames/s and latency of the rollout engine (all denoising steps + VAE decode).

    python benchmarks/bench_rollout.py [--model DIR] [--frames 60] [--steps N]

Everything runs in the compute dtype ``wm-video play`` uses on this machine (wm_video.precision):
bf16 where it is native, fp32 elsewhere. Targets for the compiled session that play runs, at
128x128: with the Euler sampler (3 steps), >= 20 frames/s (aim 30) on a bf16 CPU and >= 6 on an
fp32 (AVX2) one; with a one-pass model, >= 60 and >= 15; a 90th-percentile keypress-to-frame
latency <= 60 ms. Also printed, from the same run: the eager (uncompiled) session, the speed-up
over the reference mode (Euler only: the whole window recomputed at every step, as Oasis
samples), the DiT's passes and FLOPs per frame, and the share of a matmul's GFLOP/s in the same
dtype that the whole frame (DiT and decoder) achieves.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, matmul_gflops  # noqa: E402

from data_tools.game import Game  # noqa: E402
from data_tools.scripted_player import ScriptedPlayer  # noqa: E402
from wm_video.models.dit import WorldDiT  # noqa: E402
from wm_video.models.vae import FrameVAE  # noqa: E402
from wm_video.rollout import RolloutConfig, WorldSession  # noqa: E402
from wm_video.world_model import WorldModel, WorldModelInfo, resolve_model  # noqa: E402


def default_architecture() -> WorldModel:
    """The shipped model's architecture with untrained weights: same speed, no checkpoint needed."""
    from train.configs import DIT_PRESETS

    vae = FrameVAE(latent_channels=16).eval()
    dit = WorldDiT(latent_channels=16, latent_size=(16, 16), **DIT_PRESETS["default"]).eval()
    return WorldModel(vae, dit, WorldModelInfo(scaling_factor=1.0, fps=20, width=128, height=128))


def run(session: WorldSession, prompt: np.ndarray, actions: list[np.ndarray]) -> list[float]:
    session.reset(prompt, np.zeros((len(prompt), 25), np.float32))
    times = []
    for a in actions:
        start = time.perf_counter()
        session.step(a)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped one, else the untrained default)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--steps", type=int, default=RolloutConfig.steps, help="default: the engine's")
    args = parser.parse_args()
    try:
        world = WorldModel.load(resolve_model(args.model))
    except Exception:
        world = default_architecture()
    config = RolloutConfig(steps=args.steps)
    eager = WorldSession(world, config)
    window = eager.rollout.window
    game, player = Game(0), ScriptedPlayer(0)
    prompt = np.stack([game.reset()] + [game.step(player.act(game)) for _ in range(window - 2)])
    actions = [player.act(game) for _ in range(args.frames)]
    eager_steady = run(eager, prompt, actions[:window + 8])[window:]  # the window is full after window - 1 frames
    start = time.perf_counter()
    cached = WorldSession(world, config, compile=True)  # compiles in the constructor
    compile_s = time.perf_counter() - start
    steady = run(cached, prompt, actions)[window:]
    fps = 1 / statistics.median(steady)
    p90 = float(np.percentile(steady, 90)) * 1000

    one_pass = eager.rollout.one_pass
    speedup = None
    if not one_pass:
        reference = WorldSession(world, config, reference=True)
        ref_times = run(reference, prompt, actions[:window + 8])[window:]
        speedup = statistics.median(ref_times) / statistics.median(eager_steady)

    # FLOPs and passes of one steady-state frame (counted on the eager twin: the same work).
    passes = []
    hook = eager.rollout.model.register_forward_hook(lambda m, args, out: passes.append(args[0].shape[1]))
    with FlopCounterMode(display=False) as counter:
        latent = eager.rollout.step(torch.from_numpy(actions[0]))
    hook.remove()
    dit_flops = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        eager.world.decode(latent[None], decoder=eager.decoder)
    flops = dit_flops + counter.get_total_flops()
    z = torch.randn(1, *world.vae.latent_shape)
    decode_ms = statistics.median([_time(lambda: cached.decoder(z)) for _ in range(20)]) * 1000
    ceiling = matmul_gflops()
    frame_s = statistics.median(steady)
    achieved = flops / frame_s / 1e9

    params = sum(p.numel() for p in world.dit.parameters()) / 1e6
    bf16 = cached.dtype == torch.bfloat16
    if one_pass:
        target, sampler = ("target >= 60" if bf16 else "target >= 15 (fp32 CPU)"), "one pass per frame"
    else:
        target, sampler = ("target >= 20, aim 30" if bf16 else "target >= 6 (fp32 CPU)"), f"{args.steps} Euler steps"
    print(f"\n{machine()}")
    print(f"rollout at {world.info.width}x{world.info.height}: DiT {params:.1f}M params, {sampler}, "
          f"window {window}, {torch.get_num_threads()} threads")
    print(f"{'frames/s (median, window full)':<40}{fps:>8.1f}   {target}")
    print(f"{'p90 keypress-to-frame latency (ms)':<40}{p90:>8.1f}   target <= 60")
    print(f"{'frames/s uncompiled':<40}{1 / statistics.median(eager_steady):>8.1f}   "
          f"(compiling took {compile_s:.0f} s at start)")
    print(f"{'VAE decode (ms/frame)':<40}{decode_ms:>8.1f}")
    if speedup is not None:
        print(f"{'speed-up over reference mode (eager)':<40}{speedup:>8.1f}x")
    print(f"{'DiT passes per frame (frames in each)':<40}{len(passes):>8}   {passes}")
    print(f"{'DiT GFLOP per frame':<40}{dit_flops / 1e9:>8.2f}")
    print(f"{'GFLOP per frame / achieved GFLOP/s':<40}{flops / 1e9:>8.2f} / {achieved:.0f}")
    print(f"{'share of the matmul ceiling':<40}{achieved / ceiling:>8.0%}   (ceiling {ceiling:.0f} GFLOP/s "
          f"{str(cached.dtype).removeprefix('torch.')})")


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
