"""What the training loops share: the learning-rate schedule, one optimizer update, endless resumable batches
and the EMA weights."""

from __future__ import annotations

import copy
import math

import torch


def lr_factor(step: int, warmup: int, steps: int) -> float:
    """Linear warm-up, then a cosine decay to a tenth of the peak."""
    progress = min(1.0, step / max(1, steps))
    return min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def schedule(optimizer: torch.optim.Optimizer, warmup: int, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, warmup, steps))


def update(accelerator, model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """Backward, clip, step (accelerate skips the step on micro-batches that only accumulate)."""
    accelerator.backward(loss)
    if accelerator.sync_gradients:
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def endless_batches(accelerator, loader, skip: int):
    """Endless batches; a resumed run skips those the interrupted one already used."""
    epoch, skip = divmod(skip, len(loader))
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        yield from accelerator.skip_first_batches(loader, skip) if skip else loader
        epoch, skip = epoch + 1, 0


def ema_weights(model: torch.nn.Module, ema) -> torch.nn.Module:
    """A float32 copy of ``model`` holding the EMA weights (what the DiT trainers export)."""
    averaged = copy.deepcopy(model).float()
    ema.copy_to(averaged.parameters())
    return averaged
