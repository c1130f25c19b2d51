"""The Accelerator both trainers run under: the machine's compute dtype, TensorBoard logs in the run folder."""

from __future__ import annotations

from pathlib import Path

from accelerate import Accelerator, PartialState
from accelerate.utils import parse_flag_from_env, set_seed

from wm_video.precision import compute_precision


def make_accelerator(out: Path, grad_accum: int, seed: int) -> Accelerator:
    """bf16 mixed precision where this process's device has native bf16, fp32 elsewhere; says which in one line."""
    device = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU")).device  # as Accelerator will pick it
    precision = compute_precision(device)
    accelerator = Accelerator(mixed_precision=precision.mixed_precision, log_with="tensorboard",
                              project_dir=str(out), gradient_accumulation_steps=grad_accum)
    accelerator.print(precision)
    set_seed(seed)
    return accelerator
