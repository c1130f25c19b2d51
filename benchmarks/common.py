"""Shared helpers for the benchmark scripts: medians, the machine line, and the matmul ceiling in the compute dtype."""

from __future__ import annotations

import contextlib
import platform
import statistics
import time
from pathlib import Path

import torch

from wm_video.precision import compute_precision


def median_seconds(fn, repeats: int = 20, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine(dtype: bool = True) -> str:
    """One line: the CPU, torch's dispatch level and threads, and (``dtype``) the compute dtype of the figures."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):  # Linux names the model here; processor() is often empty
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    line = (f"machine: {cpu}, torch {torch.__version__} dispatching {torch.backends.cpu.get_cpu_capability()}, "
            f"{torch.get_num_threads()} threads")
    return f"{line}\n{compute_precision('cpu')}" if dtype else line


def matmul_gflops(dtype: torch.dtype | None = None, n: int = 1024) -> float:
    """GFLOP/s of an n x n x n matmul in ``dtype`` (default: the compute dtype): the ceiling our models are
    compared with, so that a share of it means the same on a bf16 machine and an fp32 one."""
    dtype = dtype or compute_precision("cpu").dtype
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    with torch.inference_mode():
        return 2 * n**3 / median_seconds(lambda: a @ b, repeats=30) / 1e9
