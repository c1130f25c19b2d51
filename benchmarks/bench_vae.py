"""VAE decode speed on this CPU: ms per 128x128 frame, batch 1, in float32 and in the compute dtype play uses.

    python benchmarks/bench_vae.py [--vae RUN/vae]

Target (tokenizer issue): decoding one frame <= 8 ms on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median_seconds  # noqa: E402

from wm_video.inference import fast_inference  # noqa: E402
from wm_video.models.storage import load_model  # noqa: E402
from wm_video.models.vae import FrameVAE  # noqa: E402
from wm_video.precision import compute_precision  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", help="a saved VAE (default: the default architecture, untrained)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile with freezing")
    args = parser.parse_args()
    vae = load_model(FrameVAE, args.vae) if args.vae else FrameVAE(latent_channels=16).eval()
    z = torch.randn(1, *vae.latent_shape)
    precision = compute_precision("cpu")
    name, dtype = precision.name, precision.dtype
    variants = {
        "float32, as trained": vae.decoder,
        f"{name}": fast_inference(vae.decoder, dtype, channels_last=False),
        f"{name} + channels_last (play's)": fast_inference(vae.decoder, dtype),
    }
    if args.compile:
        variants[f"{name} + channels_last + compile"] = fast_inference(vae.decoder, dtype, compile=True)
    print(f"\n{machine()}")
    print(f"VAE decode, latent {'x'.join(map(str, vae.latent_shape))} -> {vae.config.image_size}, "
          f"batch 1, {torch.get_num_threads()} threads")
    print(f"{'variant':<38}{'ms/frame':>10}")
    best = float("inf")
    for label, decoder in variants.items():
        with torch.inference_mode():
            ms = median_seconds(lambda d=decoder: d(z), repeats=50) * 1000
        best = min(best, ms)
        print(f"{label:<38}{ms:>10.2f}")
    print(f"target <= 8 ms/frame: {'met' if best <= 8 else 'NOT met'} (best {best:.2f} ms)")


if __name__ == "__main__":
    main()
