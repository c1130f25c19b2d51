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
