"""Batches of frames from an image dataset, for the VAE: random but reproducible from the step number."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from data_tools.dataset import DatasetError, decode_pngs, read_info
from wm_video.models.vae import frames_to_input


class FrameSource:
    def __init__(self, root: str | Path, image_size: tuple[int, int] | None = None):
        import datasets

        self.info = read_info(root)
        if image_size is not None and (self.info.height, self.info.width) != tuple(image_size):
            raise DatasetError(f"{root}: frames are {self.info.width}x{self.info.height}, but the VAE takes "
                               f"{image_size[1]}x{image_size[0]}")
        datasets.disable_progress_bars()
        # Encoded bytes, decoded by cv2 on every core (PIL, datasets' decoder, holds the GIL): a GPU step
        # of 64 frames otherwise waits on one core decoding them.
        self.rows = (datasets.load_dataset(str(root), split="train").select_columns(["image"])
                     .cast_column("image", datasets.Image(decode=False)))
        if len(self.rows) == 0:
            raise DatasetError(f"{root}: holds no frames")
        self.root = Path(root)

    def __len__(self) -> int:
        return len(self.rows)

    def frames(self, indices) -> torch.Tensor:
        """Frames as float (B, 3, H, W) in [-1, 1]."""
        images = self.rows[list(map(int, indices))]["image"]
        try:
            array = decode_pngs(image["bytes"] for image in images)
        except ValueError as e:
            raise DatasetError(f"{self.root}: cannot read a frame ({e})") from None
        return frames_to_input(torch.from_numpy(array))

    def batch(self, size: int, *key: int) -> torch.Tensor:
        """``size`` random frames; the same ``key`` (seed, step, rank...) always gives the same ones."""
        rng = np.random.default_rng(list(key))
        return self.frames(rng.integers(0, len(self), size))


def prefetched(load: Callable[..., torch.Tensor], keys: Iterable[tuple]) -> Iterator[torch.Tensor]:
    """``load(*key)`` for each key in turn, the next one loading on a thread while the caller uses this one."""
    with ThreadPoolExecutor(1) as pool:
        pending = None
        for key in keys:
            submitted = pool.submit(load, *key)
            if pending is not None:
                yield pending.result()
            pending = submitted
        if pending is not None:
            yield pending.result()
