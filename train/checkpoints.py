"""Resumable training state on disk: accelerate's save_state/load_state, written atomically.

``OUT/checkpoints/step_NNNNNNN`` holds everything accelerate saves (model, optimizer, RNG
states, the step counter); a checkpoint is written under a temporary name and renamed, so a
kill during a save leaves the previous checkpoint as the latest. The last ``keep`` survive.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from accelerate import Accelerator


class StepCounter:
    """The training step, saved and restored with the checkpoint."""

    def __init__(self) -> None:
        self.step = 0

    def state_dict(self) -> dict:
        return {"step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])


def restore(accelerator: Accelerator, latest: Path | None, *objects) -> StepCounter:
    """Register the step counter and ``objects`` (scheduler, EMA...) with the checkpoint; load ``latest`` if any."""
    counter = StepCounter()
    accelerator.register_for_checkpointing(counter, *objects)
    if latest is not None:
        accelerator.load_state(str(latest))
        accelerator.print(f"resuming from {latest} (step {counter.step})")
    return counter


def latest_checkpoint(out: str | Path) -> Path | None:
    found = sorted((Path(out) / "checkpoints").glob("step_*"))
    return found[-1] if found else None


def save_checkpoint(accelerator: Accelerator, out: str | Path, step: int, keep: int = 2) -> Path:
    folder = Path(out) / "checkpoints"
    final = folder / f"step_{step:07d}"
    tmp = folder / f".step_{step:07d}.partial"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in sorted(folder.glob("step_*"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def save_pretrained_atomic(model, path: str | Path) -> None:
    """``model.save_pretrained(path)`` (safetensors + config.json) via a temporary folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    old = path.with_name(f".{path.name}.old")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
