"""Run an env's steps on a worker thread, so the window keeps drawing and reading input while a frame is made."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np


class BackgroundEnv:
    """Wraps an env (``reset()``, ``step(action) -> frame``): ``submit`` an action, ``poll`` for the frame.

    One step is in flight at a time; torch releases the GIL in its kernels, so the pygame loop
    on the main thread stays responsive.
    """

    def __init__(self, env):
        self.env = env
        self._requests: queue.Queue = queue.Queue(maxsize=1)
        self._results: queue.Queue = queue.Queue()
        self._busy = False
        self._worker = threading.Thread(target=self._work, daemon=True, name="world-model")
        self._worker.start()

    @property
    def idle(self) -> bool:
        return not self._busy

    def reset(self) -> np.ndarray:
        self.wait()
        return self.env.reset()

    def submit(self, action: np.ndarray) -> None:
        if self._busy:
            raise RuntimeError("a step is already running")
        self._busy = True
        self._requests.put((time.perf_counter(), action))

    def poll(self) -> tuple[np.ndarray, float] | None:
        """The finished frame and its latency in ms (action submitted -> frame ready), or None."""
        try:
            frame, latency, error = self._results.get_nowait()
        except queue.Empty:
            return None
        self._busy = False
        if error is not None:
            raise error
        return frame, latency

    def wait(self) -> tuple[np.ndarray, float] | None:
        """Block until the running step (if any) is done; return its result."""
        if not self._busy:
            return None
        frame, latency, error = self._results.get()
        self._busy = False
        if error is not None:
            raise error
        return frame, latency

    def _work(self) -> None:
        while True:
            start, action = self._requests.get()
            try:
                frame = self.env.step(action)
                self._results.put((frame, (time.perf_counter() - start) * 1000, None))
            except Exception as e:  # handed to the main thread by poll()
                self._results.put((None, 0.0, e))
