"""Reading and writing videos: H.264 mp4 through PyAV (mp4v through OpenCV where libx264 is missing).

Every writer goes to a temporary name beside the target and renames at the end, so an
interrupted write never leaves a half-written video under the requested name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import UserError


class VideoError(UserError):
    """A video that cannot be read or written; the message names the file."""


def iter_video(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` one by one as RGB uint8 arrays (long videos never sit in memory)."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such video file")
    n = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: holds no video stream")
            for frame in container.decode(container.streams.video[0]):
                n += 1
                yield frame.to_ndarray(format="rgb24")
    except VideoError:
        raise
    except Exception as e:  # PyAV raises many kinds for damaged files
        raise VideoError(f"{path}: cannot decode video after {n} frames ({type(e).__name__}: {e})") from None
    if n == 0:
        raise VideoError(f"{path}: holds no decodable frames (empty or truncated?)")


def video_fps(path: str | Path) -> float:
    import av

    if not Path(path).is_file():
        raise VideoError(f"{path}: no such video file")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return float(stream.average_rate or stream.guessed_rate or 20)
    except Exception as e:
        raise VideoError(f"{path}: cannot open video ({type(e).__name__}: {e})") from None


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 20.0) -> int:
    """Write RGB uint8 frames to ``path`` (.mp4, or .gif); return the number of frames written."""
    path = Path(path)
    if path.suffix.lower() not in (".mp4", ".gif"):
        raise VideoError(f"{path}: videos are written as .mp4 or .gif")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        n = _write_gif(tmp, frames, fps) if path.suffix.lower() == ".gif" else _write_h264(tmp, frames, fps)
    except _NoH264:
        n = _write_mp4v(tmp, frames, fps)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return n


class _NoH264(Exception):
    pass


def _even(frame: np.ndarray) -> np.ndarray:
    """H.264 with 4:2:0 chroma needs even sides: pad the last row/column when odd."""
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else frame


def _write_h264(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    try:
        import av
    except ImportError as e:  # a machine without PyAV (a bare GPU image) still writes mp4v
        raise _NoH264() from e

    iterator: Iterator[np.ndarray] = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise VideoError(f"{path}: no frames to write")
    first = _even(np.ascontiguousarray(first))
    try:
        container = av.open(str(path), mode="w")
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
    except (av.error.FFmpegError, ValueError) as e:
        raise _NoH264() from e
    stream.width, stream.height = first.shape[1], first.shape[0]
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "18", "preset": "veryfast"}
    n = 0
    with container:
        for frame in _chain(first, iterator):
            image = av.VideoFrame.from_ndarray(_even(np.ascontiguousarray(frame)), format="rgb24")
            container.mux(stream.encode(image))
            n += 1
        container.mux(stream.encode(None))
    return n


def _write_mp4v(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    import cv2

    writer = None
    n = 0
    for frame in frames:
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                     (frame.shape[1], frame.shape[0]))
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
        n += 1
    if writer is None:
        raise VideoError(f"{path}: no frames to write")
    writer.release()
    return n


def _write_gif(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    from PIL import Image

    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    if not images:
        raise VideoError(f"{path}: no frames to write")
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return len(images)


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
