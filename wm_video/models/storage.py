"""Models on disk: saved whole or not at all, loaded with clear errors (a missing folder, a
truncated file, NaN weights).

A save writes a temporary folder beside the target and swaps it in, so a kill leaves the old model
or the new one, never half of each (in the instant between the swap's two renames, the old one
waits beside the target as ``.NAME.old``). Weights are read only from safetensors
(``from_pretrained`` with ``use_safetensors=True``); nothing is ever unpickled.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TypeVar

import torch

from wm_video.errors import UserError

M = TypeVar("M")


class ModelError(UserError):
    pass


def staging_folder(path: Path) -> Path:
    """Where to write a save of ``path`` before ``replace_folder``: beside it, cleared."""
    tmp = path.with_name(f".{path.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)  # a save killed before its swap
    tmp.parent.mkdir(parents=True, exist_ok=True)
    return tmp


def replace_folder(staged: Path, path: Path) -> None:
    """Swap the fully written folder ``staged`` in at ``path`` (a folder cannot be renamed over
    another, so the old one steps aside first)."""
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)  # a save killed before its clean-up; a rename onto it would fail
    if path.exists():
        os.replace(path, old)
    os.replace(staged, path)
    shutil.rmtree(old, ignore_errors=True)


def save_pretrained_atomic(model, path: str | Path) -> None:
    """``model.save_pretrained(path)`` (safetensors + config.json), whole or not at all."""
    path = Path(path)
    tmp = staging_folder(path)
    model.save_pretrained(str(tmp), safe_serialization=True)
    replace_folder(tmp, path)


def load_model(cls: type[M], path: str | Path, **config_overrides) -> M:
    """``cls.from_pretrained(path)`` in eval mode, float32, checked for damage.

    ``config_overrides`` change the saved config; weights the saved model lacks (a part that the
    overrides add) keep the model's own initialisation.
    """
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: no saved {cls.__name__} here (config.json missing)")
    if not any(path.glob("*.safetensors")):
        raise ModelError(f"{path}: no .safetensors weights")
    try:
        model = cls.from_pretrained(str(path), use_safetensors=True, low_cpu_mem_usage=False, **config_overrides)
    except Exception as e:  # safetensors, json and shape errors all mean the same to a user
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        # torch's state-dict error opens with a bare heading; the line that names the weight follows it.
        reason = next((line for line in lines if "size mismatch" in line), lines[0] if lines else "")
        raise ModelError(f"{path}: cannot load {cls.__name__} ({type(e).__name__}: {reason})") from None
    model = model.float().eval()
    for name, tensor in model.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise ModelError(f"{path}: weight {name} holds NaN or infinite values")
    return model
