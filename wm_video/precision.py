"""The compute dtype of this machine: bf16 only where the hardware multiplies bf16 natively, fp32 elsewhere.

On a CPU without AVX512-BF16 or AMX (most laptops: Intel's client CPUs, AMD's before Zen 4) torch
emulates bf16 matmuls some 80x slower than fp32, so bf16 there is a trap, not a speed-up.
Play, render, eval, encode, the benchmarks and both trainers all ask ``compute_precision()``.
``WM_VIDEO_PRECISION`` (auto, fp32 or bf16; ``--precision`` of every command that computes sets it)
overrides the choice. torch is imported only when asked, so that ``wm-video --help`` stays instant.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import UserError

ENV = "WM_VIDEO_PRECISION"
CHOICES = ("auto", "fp32", "bf16")
_NATIVE_CAPABILITIES = ("AVX512", "AMX")  # ATen's dispatch level; at AVX2 and below bf16 is emulated


@dataclass(frozen=True)
class Precision:
    name: str  # "bf16" or "fp32"
    native_bf16: bool  # whether the hardware multiplies bf16 natively (auto picks bf16 exactly then)
    reason: str  # why, for the one line commands print

    @property
    def dtype(self):
        import torch

        return torch.bfloat16 if self.name == "bf16" else torch.float32

    @property
    def mixed_precision(self) -> str:
        """accelerate's ``mixed_precision`` for this choice."""
        return "bf16" if self.name == "bf16" else "no"

    def __str__(self) -> str:
        return f"compute: {self.name} ({self.reason})"


def cpu_has_native_bf16(capability: str, avx512_bf16: bool, amx: bool) -> bool:
    """Whether bf16 matmuls run natively: the CPU has the instructions and torch dispatches to them."""
    return capability.startswith(_NATIVE_CAPABILITIES) and (avx512_bf16 or amx)


def decide(requested: str, native: bool, what: str) -> Precision:
    """The choice for ``requested`` (auto, fp32 or bf16) on hardware ``what`` whose bf16 is ``native`` or not."""
    if requested not in CHOICES:
        raise UserError(f"{ENV}={requested!r}: choose one of {', '.join(CHOICES)}")
    if requested != "auto":
        return Precision(requested, native, f"forced by {ENV} / --precision; {what} {'has' if native else 'has no'} "
                                    "native bf16")
    if native:
        return Precision("bf16", True, f"{what} has native bf16")
    return Precision("fp32", False, f"{what} has no native bf16, and emulated it is ~80x slower than fp32")


def compute_precision(device=None) -> Precision:
    """The precision to compute in on ``device`` (a torch device or its name; default: a GPU if any, else the CPU)."""
    import torch

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    requested = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if device.type == "cuda":
        native, what = torch.cuda.is_bf16_supported(), torch.cuda.get_device_name(device)
    else:
        capability = torch.backends.cpu.get_cpu_capability()
        native = cpu_has_native_bf16(capability, torch.cpu._is_avx512_bf16_supported(),
                                     torch.cpu._is_amx_tile_supported())
        what = f"this {capability} CPU"
    return decide(requested, native, what)
