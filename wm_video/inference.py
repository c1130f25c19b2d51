"""Making a trained module fast for inference on a CPU (figures in docs/performance.md).

The dtype is the machine's (``wm_video.precision``): bf16 where it is native, fp32 elsewhere.
channels_last speeds the decoder's convolutions in either dtype. ``torch.compile`` with inductor
freezing gains another 1.1-1.5x on the transformer but costs ~30 s at start, so it is opt-in.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


class FastModule(nn.Module):
    """Wraps a module: inputs are cast to its dtype (and memory format), outputs back to float32."""

    def __init__(self, module: nn.Module, dtype: torch.dtype, channels_last: bool):
        super().__init__()
        self.module, self.dtype, self.channels_last = module, dtype, channels_last

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.module(x).float()


def fast_inference(module: nn.Module, dtype: torch.dtype, channels_last: bool = True,
                   compile: bool = False) -> FastModule:
    """A copy of ``module`` in ``dtype`` (and channels_last), optionally compiled with freezing."""
    m = copy.deepcopy(module).eval().to(dtype)
    if channels_last:
        m = m.to(memory_format=torch.channels_last)
    return FastModule(compiled(m) if compile else m, dtype, channels_last)


def cast(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    """``module.to(dtype)`` in place, without diffusers' ModelMixin.to() warning on every dtype cast."""
    return nn.Module.to(module, dtype)


def compiled(module: nn.Module) -> nn.Module:
    """``torch.compile`` with inductor freezing (weights folded in as constants): for inference only."""
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    return torch.compile(module, dynamic=False)  # play has two fixed shapes: one graph each
