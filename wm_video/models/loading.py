"""Loading saved models with clear errors: a missing folder, a truncated file, NaN weights.

Weights are read only from safetensors (``from_pretrained`` with ``use_safetensors=True``);
nothing is ever unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import torch

from wm_video.errors import UserError

M = TypeVar("M")


class ModelError(UserError):
    pass


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
