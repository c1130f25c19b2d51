"""Shared timing helpers for the benchmark scripts: medians, and the bf16 matmul ceiling of this machine."""

from __future__ import annotations

import statistics
import time

import torch


def median_seconds(fn, repeats: int = 20, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(dtype: torch.dtype = torch.bfloat16, n: int = 1024) -> float:
    """GFLOP/s of an n x n x n matmul in ``dtype``: the ceiling our models are compared with."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    with torch.inference_mode():
        return 2 * n**3 / median_seconds(lambda: a @ b, repeats=30) / 1e9
