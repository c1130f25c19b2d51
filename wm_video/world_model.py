"""A playable world model on disk: the VAE, the DiT and the constants that tie them together.

    MODEL/vae/         FrameVAE (safetensors + config.json)
    MODEL/dit/         WorldDiT (safetensors + config.json)
    MODEL/model.json   latent scaling factor, fps, frame size, sampler
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .inference import cast
from .models.dit import WorldDiT
from .models.storage import ModelError, load_model, replace_folder, staging_folder
from .models.vae import FrameVAE, frames_to_input, output_to_frames

DEFAULT_MODEL = Path(__file__).resolve().parent / "pretrained" / "default"
SAMPLERS = ("euler", "one_pass")
PROMPT_FRAMES = 8  # real frames a rollout starts from (play, render and eval)


def resolve_model(path: str | Path | None) -> Path:
    """``--model`` or, when not given, the model shipped in the repository."""
    if path is not None:
        return Path(path)
    if not (DEFAULT_MODEL / "model.json").is_file():
        raise ModelError(f"no shipped model at {DEFAULT_MODEL}; pass --model RUN/model (from `wm-video train`)")
    return DEFAULT_MODEL


@dataclass(frozen=True)
class WorldModelInfo:
    scaling_factor: float  # latents * scaling_factor have unit variance; the DiT works in that space
    fps: float
    width: int
    height: int
    # "euler": a few Euler steps per frame (RolloutConfig.steps); "one_pass": one DiT pass per frame
    sampler: str = "euler"

    @classmethod
    def read(cls, path: str | Path) -> WorldModelInfo:
        """MODEL/model.json."""
        path = Path(path)
        if not (path / "model.json").is_file():
            raise ModelError(f"{path}: not a wm-video model (no model.json)")
        info = cls(**json.loads((path / "model.json").read_text()))
        if info.sampler not in SAMPLERS:
            raise ModelError(f"{path / 'model.json'}: unknown sampler {info.sampler!r}; one of {', '.join(SAMPLERS)}")
        return info


class WorldModel:
    def __init__(self, vae: FrameVAE, dit: WorldDiT, info: WorldModelInfo):
        if tuple(vae.latent_shape) != (dit.config.latent_channels, *dit.config.latent_size):
            raise ModelError(f"the DiT expects latents {dit.config.latent_channels}x{tuple(dit.config.latent_size)}, "
                             f"the VAE makes {tuple(vae.latent_shape)}")
        self.vae, self.dit, self.info = vae, dit, info

    @classmethod
    def load(cls, path: str | Path) -> WorldModel:
        path = Path(path)
        info = WorldModelInfo.read(path)
        return cls(load_model(FrameVAE, path / "vae"), load_model(WorldDiT, path / "dit"), info)

    def save(self, path: str | Path, dtype: torch.dtype = torch.float32) -> None:
        """Write the model folder atomically (``dtype=torch.bfloat16`` halves its size for shipping)."""
        path = Path(path)
        tmp = staging_folder(path)
        tmp.mkdir()
        for name, module in (("vae", self.vae), ("dit", self.dit)):
            module.register_to_config(_name_or_path=name)  # not the folder it was loaded from: no local paths
            cast(module, dtype).save_pretrained(str(tmp / name), safe_serialization=True)
            module.float()
        (tmp / "model.json").write_text(json.dumps(asdict(self.info), indent=2))
        replace_folder(tmp, path)

    # -- pixels <-> scaled latents -------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 frames (T, H, W, 3) -> scaled latents (T, C, h, w)."""
        return self.vae.encode(frames_to_input(frames)).mode() * self.info.scaling_factor

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor, decoder=None) -> torch.Tensor:
        """Scaled latents (T, C, h, w) -> uint8 frames (T, H, W, 3); ``decoder`` may be a faster copy."""
        return output_to_frames((decoder or self.vae.decode)(latents / self.info.scaling_factor))
