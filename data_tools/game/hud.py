"""The heads-up display drawn over each frame: a crosshair and the 9-slot hotbar, as in Minecraft."""

from __future__ import annotations

import numpy as np

from .blocks import BLOCK_FACES, HOTBAR_BLOCKS, HUD_LABEL


class Hud:
    def __init__(self, width: int, height: int, textures: np.ndarray):
        self.width, self.height = width, height
        # Slot size scales with the frame's width, but never so small that icons vanish.
        self.slot = max(3, min(width // 9, max(5, round(min(width, 1.6 * height) * 0.06))))
        self.left = (width - 9 * self.slot) // 2
        self.top = height - self.slot - max(1, height // 64)
        inner = self.slot - 2
        idx = (np.arange(inner) * 16) // inner
        self.icons = [textures[BLOCK_FACES[b, 1]][idx][:, idx].astype(np.float32) for b in HOTBAR_BLOCKS]
        self.arm = max(2, min(width, height) // 32)  # crosshair half-length

    def draw(self, frame: np.ndarray, selected: int) -> None:
        """Draw in place: the hotbar with slot ``selected`` (0-based) framed, and the crosshair."""
        s, top = self.slot, self.top
        bar = frame[top:top + s, self.left:self.left + 9 * s].astype(np.float32)
        bar *= 0.45  # the hotbar's dark translucent background
        for k, icon in enumerate(self.icons):
            bar[1:s - 1, k * s + 1:(k + 1) * s - 1] = icon
        x0 = selected * s
        for edge in (bar[0, x0:x0 + s], bar[s - 1, x0:x0 + s], bar[:, x0], bar[:, x0 + s - 1]):
            edge[...] = 255.0
        frame[top:top + s, self.left:self.left + 9 * s] = bar.astype(np.uint8)

        cy, cx, a = self.height // 2, self.width // 2, self.arm
        for region in (frame[cy, cx - a:cx + a + 1], frame[cy - a:cy + a + 1, cx]):
            region[...] = 255 - region  # Minecraft inverts what lies under the crosshair

    def draw_labels(self, labels: np.ndarray) -> None:
        """Mark in place the pixels ``draw`` covers (the whole hotbar and the crosshair) as HUD."""
        s, cy, cx, a = self.slot, self.height // 2, self.width // 2, self.arm
        labels[self.top:self.top + s, self.left:self.left + 9 * s] = HUD_LABEL
        labels[cy, cx - a:cx + a + 1] = HUD_LABEL
        labels[cy - a:cy + a + 1, cx] = HUD_LABEL
