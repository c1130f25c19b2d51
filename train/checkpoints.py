"""Resumable training state on disk: accelerate's save_state/load_state, written atomically.

``OUT/checkpoints/step_NNNNNNN`` holds what accelerate saves of the prepared objects (model and
optimizer, RNG states; read back with ``torch.load(weights_only=True)``) and, beside it, the
step counter and the other objects that have a ``state_dict`` (scheduler, EMA weights) in
``training_state.safetensors`` + ``.json``. Not through accelerate's ``register_for_checkpointing``:
that pickles them and loads them back with ``weights_only=False``, and a checkpoint folder is a
file anyone can hand over. A checkpoint is written under a temporary name and renamed, so a
kill during a save leaves the previous checkpoint as the latest. The last ``keep`` survive.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from accelerate import Accelerator
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from wm_video.errors import UserError

STATE = "training_state"


class Progress:
    """The training step, and the objects whose state is saved with it (scheduler, EMA...)."""

    def __init__(self, *objects) -> None:
        self.step = 0
        self.objects = objects

    def state_dict(self) -> dict:
        return {"step": self.step, "objects": [o.state_dict() for o in self.objects]}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        for o, s in zip(self.objects, state["objects"], strict=True):
            o.load_state_dict(s)


def _split(value, key: str, tensors: dict):
    """A state dict as JSON, each tensor replaced by its key in ``tensors``."""
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().cpu().contiguous()
        return {"tensor": key}
    if isinstance(value, dict):
        return {"dict": {k: _split(v, f"{key}.{k}", tensors) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"list": [_split(v, f"{key}.{i}", tensors) for i, v in enumerate(value)]}
    return {"value": value}


def _join(value, tensors: dict):
    (kind, v), = value.items()
    if kind == "tensor":
        return tensors[v]
    if kind == "dict":
        return {k: _join(x, tensors) for k, x in v.items()}
    if kind == "list":
        return [_join(x, tensors) for x in v]
    return v


def restore(accelerator: Accelerator, latest: Path | None, *objects) -> Progress:
    """The progress of a run with ``objects`` besides the prepared ones; loaded from ``latest`` if any."""
    progress = Progress(*objects)
    if latest is not None:
        if not (latest / f"{STATE}.json").exists():
            raise UserError(f"{latest}: no {STATE}.json (a checkpoint of an older wm-video); "
                            "start a new run with --init from its exported weights")
        accelerator.load_state(str(latest))
        try:
            tensors = load_file(latest / f"{STATE}.safetensors")
            state = _join(json.loads((latest / f"{STATE}.json").read_text()), tensors)
        except (OSError, ValueError, KeyError, SafetensorError) as e:
            raise UserError(f"{latest}: damaged {STATE} ({type(e).__name__}: {e})") from None
        progress.load_state_dict(state)
        accelerator.print(f"resuming from {latest} (step {progress.step})")
    return progress


def latest_checkpoint(out: str | Path) -> Path | None:
    found = sorted((Path(out) / "checkpoints").glob("step_*"))
    return found[-1] if found else None


def save_checkpoint(accelerator: Accelerator, out: str | Path, progress: Progress, keep: int = 2) -> Path:
    folder = Path(out) / "checkpoints"
    final = folder / f"step_{progress.step:07d}"
    tmp = folder / f".step_{progress.step:07d}.partial"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tensors: dict = {}
        (tmp / f"{STATE}.json").write_text(json.dumps(_split(progress.state_dict(), "state", tensors)))
        save_file(tensors, tmp / f"{STATE}.safetensors")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in sorted(folder.glob("step_*"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final
