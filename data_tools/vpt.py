"""OpenAI VPT / MineRL contractor recordings: NAME.mp4 with NAME.jsonl, one JSON object per frame.

Keys and mouse buttons map to the 25-dim layout as VPT's own loader maps them; keys outside
the mapping (chat, F3, alt, ...) are ignored. Two of VPT's clean-ups are kept: a camera jump
above 180 degrees (a teleport or respawn glitch) counts as no turn, and an attack button
already held on the first frame is ignored until it is released. Frames are never dropped
(VPT drops no-op frames for behaviour cloning, but the world keeps moving in them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wm_video.actions import ACTION_INDEX, empty_action

from .dataset import DatasetError
from .importing import Source

KEYBOARD = {
    "key.keyboard.w": "forward", "key.keyboard.s": "back", "key.keyboard.a": "left",
    "key.keyboard.d": "right", "key.keyboard.space": "jump", "key.keyboard.left.shift": "sneak",
    "key.keyboard.left.control": "sprint", "key.keyboard.e": "inventory",
    "key.keyboard.escape": "ESC", "key.keyboard.q": "drop", "key.keyboard.f": "swapHands",
    **{f"key.keyboard.{i}": f"hotbar.{i}" for i in range(1, 10)},
}
MOUSE_BUTTONS = {0: "attack", 1: "use", 2: "pickItem"}
CAMERA_DEGREES_PER_PIXEL = 0.15
MAX_CAMERA_DEGREES = 180.0


def find_sources(paths: list[str | Path]) -> list[Source]:
    """Each path is NAME.mp4 (with NAME.jsonl beside it) or a folder of such pairs."""
    sources = []
    for path in map(Path, paths):
        if path.is_dir():
            videos = sorted(path.glob("*.mp4"))
            if not videos:
                raise DatasetError(f"{path}: folder holds no .mp4 files")
        elif path.suffix.lower() == ".mp4":
            if not path.is_file():
                raise DatasetError(f"{path}: no such video file")
            videos = [path]
        else:
            raise DatasetError(f"{path}: expected NAME.mp4 or a folder of NAME.mp4 + NAME.jsonl pairs")
        for video in videos:
            actions = video.with_suffix(".jsonl")
            if not actions.is_file():
                raise DatasetError(f"{video}: no {actions.name} beside it")
            sources.append(Source(video=video, actions=actions))
    return sources


def vpt_actions(records: list[dict], path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Map a recording's per-frame JSON to ``(actions (T, 25), poses (T, 5) or None)``."""
    actions = np.stack([empty_action() for _ in records])
    poses = np.full((len(records), 5), np.nan, dtype=np.float32)
    attack = ACTION_INDEX["attack"]
    last_hotbar = records[0].get("hotbar", 0)
    attack_stuck = 0 in (records[0].get("mouse") or {}).get("buttons", [])
    for t, record in enumerate(records):
        try:
            a = actions[t]
            for key in (record.get("keyboard") or {}).get("keys", []):
                if key in KEYBOARD:
                    a[ACTION_INDEX[KEYBOARD[key]]] = 1.0
            mouse = record.get("mouse") or {}
            buttons = mouse.get("buttons", [])
            for button in buttons:
                if button in MOUSE_BUTTONS:
                    a[ACTION_INDEX[MOUSE_BUTTONS[button]]] = 1.0
            if attack_stuck:
                if 0 in buttons:
                    a[attack] = 0.0
                else:
                    attack_stuck = False
            pitch = float(mouse.get("dy", 0.0)) * CAMERA_DEGREES_PER_PIXEL
            yaw = float(mouse.get("dx", 0.0)) * CAMERA_DEGREES_PER_PIXEL
            a[ACTION_INDEX["camera.pitch"]] = pitch if abs(pitch) <= MAX_CAMERA_DEGREES else 0.0
            a[ACTION_INDEX["camera.yaw"]] = yaw if abs(yaw) <= MAX_CAMERA_DEGREES else 0.0
            hotbar = record.get("hotbar", last_hotbar)
            if hotbar != last_hotbar:
                a[ACTION_INDEX[f"hotbar.{int(hotbar) + 1}"]] = 1.0
                last_hotbar = hotbar
            if all(k in record for k in ("xpos", "ypos", "zpos", "yaw", "pitch")):
                poses[t] = [record[k] for k in ("xpos", "ypos", "zpos", "yaw", "pitch")]
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise DatasetError(f"{path}:{t + 1}: not a VPT action record ({type(e).__name__}: {e})") from None
    return actions, None if np.isnan(poses).all() else poses
