"""``wm-video train-judge``: train the FrameJudge on recorded game frames and their label maps.

Cross-entropy on random crops (the net is fully convolutional; crops cost a quarter of a whole
frame on a CPU), measured on whole frames of held-out episodes.
The model is saved atomically at every checkpoint with its step, so a rerun with the same
``--out`` resumes from there (the optimizer's moments start afresh). The judge folder gets a card
with its held-out accuracy.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from data_tools.dataset import DatasetError, episode_indices, read_episode, read_info
from wm_video.judge import FrameJudge, mean_iou, predict_labels
from wm_video.models.storage import load_model, replace_folder, staging_folder


@dataclass
class JudgeTrainConfig:
    steps: int = 1500
    batch_size: int = 16
    crop: int = 64  # side of the random training crops, in pixels
    lr: float = 3e-3
    checkpoint_every: int = 250
    heldout_every: int = 4  # judge every 4th held-out frame: neighbours are nearly the same picture
    seed: int = 0
    channels: tuple[int, ...] = (16, 32, 64, 96)  # per level of the FrameJudge (the shipped judge's)


def load_labelled(root: str | Path, every: int = 1) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Frames (N, H, W, 3), label maps (N, H, W) and class names of a ``record --labels`` dataset."""
    info = read_info(root)
    names = info.extra.get("label_classes")
    if not names:
        raise DatasetError(f"{root}: has no label maps; record it with `wm-video record --labels`")
    episodes = [read_episode(root, k) for k in episode_indices(root)]
    if not episodes:
        raise DatasetError(f"{root}: holds no episodes")
    frames = np.concatenate([e.frames[::every] for e in episodes])
    labels = np.concatenate([e.labels[::every] for e in episodes])
    return frames, labels, tuple(names)


def accuracy(judge: FrameJudge, frames: np.ndarray, labels: np.ndarray) -> dict:
    """Per-pixel accuracy and mean IoU (per frame, over the classes present) of the judge's labels."""
    pred = predict_labels(judge, frames)
    return {"pixel_accuracy": float((pred == labels).mean()),
            "mean_iou": float(mean_iou(pred, labels, judge.num_classes).mean()), "frames": len(frames)}


def _batch(frames: np.ndarray, labels: np.ndarray, cfg: JudgeTrainConfig, rng: np.random.Generator):
    """Random crops, half of them mirrored left to right."""
    n, h, w = labels.shape
    idx = rng.integers(0, n, cfg.batch_size)
    ys, xs = rng.integers(0, h - cfg.crop + 1, cfg.batch_size), rng.integers(0, w - cfg.crop + 1, cfg.batch_size)
    f = np.stack([frames[i, y:y + cfg.crop, x:x + cfg.crop] for i, y, x in zip(idx, ys, xs, strict=True)])
    lab = np.stack([labels[i, y:y + cfg.crop, x:x + cfg.crop] for i, y, x in zip(idx, ys, xs, strict=True)])
    flip = rng.random(cfg.batch_size) < 0.5
    f[flip], lab[flip] = f[flip, :, ::-1], lab[flip, :, ::-1]
    return torch.from_numpy(f), torch.from_numpy(lab.astype(np.int64))


def train_judge(data: str | Path, heldout: str | Path, out: str | Path, cfg: JudgeTrainConfig,
                command: str = "") -> dict:
    """Train, save ``OUT/judge`` (bf16 weights, config, card) and return its held-out figures."""
    out = Path(out)
    frames, labels, names = load_labelled(data)
    held_frames, held_labels, held_names = load_labelled(heldout, every=cfg.heldout_every)
    if held_names != names or held_frames.shape[1:] != frames.shape[1:]:
        raise DatasetError(f"{heldout}: other classes or frame size than {data}")
    if min(frames.shape[1:3]) < cfg.crop:
        raise DatasetError(f"{data}: frames {frames.shape[2]}x{frames.shape[1]} are smaller than the {cfg.crop} crop")
    torch.manual_seed(cfg.seed)
    ckpt, state_file = out / "checkpoint", out / "checkpoint" / "progress.json"
    start = 0
    if state_file.is_file():
        judge, start = load_model(FrameJudge, ckpt).train(), json.loads(state_file.read_text())["step"]
        print(f"{out}: resuming from step {start}")
    else:
        judge = FrameJudge(class_names=names, channels=tuple(cfg.channels))
    opt = torch.optim.AdamW(judge.parameters(), lr=cfg.lr, weight_decay=1e-4)
    def cosine(s: int) -> float:
        return 0.5 * (1 + np.cos(np.pi * min(1.0, (start + s) / cfg.steps)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine)
    rng = np.random.default_rng([cfg.seed, start])
    began = time.perf_counter()
    for step in range(start + 1, cfg.steps + 1):
        x, y = _batch(frames, labels, cfg, rng)
        loss = F.cross_entropy(judge(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == cfg.steps:
            rate = (step - start) / (time.perf_counter() - began)
            print(f"step {step}/{cfg.steps}  loss {loss.item():.3f}  {rate:.1f} steps/s  "
                  f"ETA {(cfg.steps - step) / rate / 60:.1f} min", flush=True)
        if step % cfg.checkpoint_every == 0 and step < cfg.steps:
            _save_checkpoint(judge, ckpt, step)
    judge.eval()
    figures = {**accuracy(judge, held_frames, held_labels), "steps": cfg.steps, "train_frames": len(frames),
               "data": str(data), "heldout": str(heldout), "config": asdict(cfg)}
    save_judge(judge, out / "judge", figures, command)
    print(f"{out / 'judge'}: held-out pixel accuracy {figures['pixel_accuracy']:.1%}, "
          f"mean IoU {figures['mean_iou']:.3f} on {figures['frames']} frames")
    return figures


def _save_checkpoint(judge: FrameJudge, ckpt: Path, step: int) -> None:
    """Weights and step in one folder, swapped in whole."""
    tmp = staging_folder(ckpt)
    judge.save_pretrained(str(tmp), safe_serialization=True)
    (tmp / "progress.json").write_text(json.dumps({"step": step}))
    replace_folder(tmp, ckpt)


_CARD = """# FrameJudge

A {params:,}-parameter segmentation network that labels each pixel of a 128x128 game frame as one of
{classes}. `wm-video eval` scores imagined frames with it (world consistency: mean IoU of its labels
against the real game's; realism: the Frechet distance between its pooled features of imagined
and real frames), and `wm-video realism` scores any video.

Trained on the built-in game's own ground truth: {train_frames} frames of `{data}`, {steps} steps of
{batch} random {crop}x{crop} crops (cross-entropy). Measured on every {every}th frame of `{heldout}`,
episodes of other seeds, whole frames:

| held-out frames | per-pixel accuracy | mean IoU (per frame, classes present) |
|---|---|---|
| {frames} | {pixel_accuracy:.1%} | {mean_iou:.3f} |

Made by: `{command}`

Eval's game seeds (9001+) are never among its training or held-out worlds (`record` derives every
episode's world from the dataset seed).
"""


def save_judge(judge: FrameJudge, path: Path, figures: dict, command: str) -> None:
    """The judge in bf16 (about 1 MB), its figures and card, swapped in whole."""
    tmp = staging_folder(path)
    judge.save_config(str(tmp))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in judge.state_dict().items()},
              str(tmp / "diffusion_pytorch_model.safetensors"))
    c = figures["config"]
    (tmp / "accuracy.json").write_text(json.dumps(figures, indent=2))
    (tmp / "README.md").write_text(_CARD.format(
        params=sum(p.numel() for p in judge.parameters()), classes=", ".join(judge.config.class_names),
        batch=c["batch_size"], crop=c["crop"],
        every=c["heldout_every"], command=command or "(from Python)",
        **{k: figures[k] for k in ("train_frames", "data", "steps", "heldout", "frames", "pixel_accuracy",
                                    "mean_iou")}))
    replace_folder(tmp, path)
