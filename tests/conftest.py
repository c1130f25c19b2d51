import os

import numpy as np
import pytest

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Two recorded episodes of 12 frames at 32x32: small enough for every test to share."""
    from data_tools.record import record

    root = tmp_path_factory.mktemp("data") / "tiny"
    record(root, episodes=2, frames=12, size=(32, 32), seed=5)
    return root


def frames_digest(frames) -> str:
    import hashlib

    h = hashlib.sha256()
    for f in frames:
        h.update(np.ascontiguousarray(f).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="session")
def tiny_latents(tiny_dataset, tmp_path_factory):
    """The tiny dataset encoded by an untrained tiny VAE: (vae folder, latent dataset folder)."""
    from train.encode import encode_dataset
    from wm_video.models.vae import FrameVAE

    root = tmp_path_factory.mktemp("latents")
    FrameVAE(image_size=(32, 32), latent_channels=4, encoder_channels=(8, 8, 8),
             decoder_channels=(8, 8, 8)).save_pretrained(root / "vae")
    encode_dataset(tiny_dataset, root / "vae", root / "z")
    return root / "vae", root / "z"


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """An untrained tiny world model (32x32 frames), its weights perturbed so actions change its output."""
    import torch

    from wm_video.models.dit import WorldDiT
    from wm_video.models.vae import FrameVAE
    from wm_video.world_model import WorldModel, WorldModelInfo

    torch.manual_seed(0)
    vae = FrameVAE(image_size=(32, 32), latent_channels=4, encoder_channels=(8, 8, 8), decoder_channels=(8, 8, 8))
    dit = WorldDiT(latent_channels=4, latent_size=(4, 4), width=64, depth=2, heads=2, max_frames=8)
    with torch.no_grad():
        for p in dit.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path_factory.mktemp("world") / "model"
    WorldModel(vae, dit, WorldModelInfo(scaling_factor=1.0, fps=20, width=32, height=32)).save(path)
    return path
