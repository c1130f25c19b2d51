import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from train.checkpoints import latest_checkpoint, restore, save_checkpoint
from train.configs import DiTTrainConfig
from train.optim import schedule
from train.train_dit import train_dit
from wm_video.cli import main
from wm_video.errors import UserError
from wm_video.video import iter_video
from wm_video.world_model import WorldModel


def tiny_config(steps=4):
    return DiTTrainConfig(model="tiny", steps=steps, batch_size=2, clip_frames=8, checkpoint_every=2, log_every=1,
                          sample_every=4, sample_frames=8)


def test_train_checkpoints_samples_exports_and_resumes(tiny_latents, tmp_path):
    vae, latents = tiny_latents
    run = tmp_path / "run"
    train_dit(latents, vae, run, tiny_config())
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000002", "step_0000004"]
    assert list((run / "train").glob("events.out.tfevents.*"))
    video = run / "samples" / "step_0000004.gif"
    frames = list(iter_video(video))
    assert len(frames) == 8 and frames[0].shape[1] == 2 * 32  # real | imagined
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "train"))
    events.Reload()
    logged = events.Images("samples/real_vs_imagined")
    assert [e.step for e in logged] == [4] and logged[0].encoded_image_string == video.read_bytes()  # the GIF
    assert events.Scalars("train/loss")
    world = WorldModel.load(run / "model")
    assert world.info.scaling_factor > 0 and world.dit.config.max_frames == 8

    # Nothing in a checkpoint needs unpickling beyond torch.load(weights_only=True): no custom_checkpoint_*.pkl.
    assert not list((run / "checkpoints" / "step_0000004").glob("custom_checkpoint*"))
    train_dit(latents, vae, run, tiny_config(steps=6))  # resumes at step 4
    assert (run / "checkpoints" / "step_0000006").exists()


def test_a_part_added_to_a_trained_model_starts_at_zero_and_trains_alone(tiny_latents, tmp_path):
    vae, latents = tiny_latents
    train_dit(latents, vae, tmp_path / "base", tiny_config(steps=2))
    base = WorldModel.load(tmp_path / "base" / "model").dit
    cfg = tiny_config(steps=2)
    cfg.model_overrides, cfg.trainable, cfg.lr = {"token_actions": True}, ["token_action_embed"], 1e-2
    grown = train_dit(latents, vae, tmp_path / "grown", cfg, init=tmp_path / "base" / "model" / "dit")
    assert not any(p.requires_grad for n, p in grown.named_parameters() if not n.startswith("token_action_embed"))
    trained = WorldModel.load(tmp_path / "grown" / "model").dit
    assert trained.config.token_actions and trained.token_action_embed.weight.abs().max() > 0
    kept = {n: p for n, p in trained.state_dict().items() if not n.startswith("token_action_embed")}
    assert kept.keys() == base.state_dict().keys()
    assert all(torch.equal(p, base.state_dict()[n]) for n, p in kept.items())

    cfg.trainable = ["token_actions"]  # the config flag, not a parameter
    with pytest.raises(UserError, match="trainable .*no parameter of the model is named so"):
        train_dit(latents, vae, tmp_path / "typo", cfg, init=tmp_path / "base" / "model" / "dit")


def test_focus_actions_make_the_clips_that_hold_them_a_set_share_of_those_drawn(tiny_latents):
    from data_tools.dataset import DatasetError
    from train.clips import LatentClips
    from train.train_dit import clip_sampler
    from wm_video.actions import ACTION_INDEX

    clips = LatentClips(tiny_latents[1], 4)
    for a in clips.actions:
        a[:, [ACTION_INDEX[f"hotbar.{i}"] for i in range(1, 10)]] = 0
    clips.actions[0][2, ACTION_INDEX["hotbar.3"]] = 1  # predicted in the clips that start at frame 0 or 1 (stride 2)
    holds = clips.holding(["hotbar.3"])
    assert holds.tolist() == [(e, s) == (0, 0) for e, s in clips.index]
    cfg = DiTTrainConfig(focus_actions=["hotbar.3"], focus_share=0.25, seed=1)
    sampler = clip_sampler(clips, cfg, "data")
    drawn = torch.tensor([holds[i] for _ in range(100) for i in sampler]).float()  # an epoch is a few clips
    assert abs(drawn.mean().item() - 0.25) < 0.05
    with pytest.raises(UserError, match="unknown action.*hotbar.10"):
        clip_sampler(clips, DiTTrainConfig(focus_actions=["hotbar.10"]), "data")
    with pytest.raises(DatasetError, match="data: no training clip holds one of hotbar.4"):
        clip_sampler(clips, DiTTrainConfig(focus_actions=["hotbar.4"]), "data")


def test_a_checkpoint_restores_the_step_schedule_and_ema_weights_exactly(tmp_path):
    from accelerate import Accelerator
    from diffusers.training_utils import EMAModel

    accelerator = Accelerator(cpu=True)
    model, optimizer = accelerator.prepare(torch.nn.Linear(3, 2), torch.optim.AdamW(torch.nn.Linear(3, 2).parameters()))
    scheduler, ema = schedule(optimizer, 2, 10), EMAModel(model.parameters(), decay=0.9)
    progress = restore(accelerator, None, scheduler, ema)
    for _ in range(3):
        with torch.no_grad():
            model.weight.add_(1.0)
        optimizer.step()
        scheduler.step()
        ema.step(model.parameters())
        progress.step += 1
    save_checkpoint(accelerator, tmp_path, progress)

    scheduler2 = schedule(optimizer, 2, 10)
    ema2 = EMAModel(torch.nn.Linear(3, 2).parameters(), decay=0.5)
    resumed = restore(accelerator, latest_checkpoint(tmp_path), scheduler2, ema2)
    assert resumed.step == 3 and scheduler2.state_dict() == scheduler.state_dict()
    assert ema2.optimization_step == ema.optimization_step and ema2.decay == 0.9
    assert all(torch.equal(a, b) for a, b in zip(ema2.shadow_params, ema.shadow_params, strict=True))


def test_cli_train_refuses_a_model_that_does_not_fit_the_latents(tiny_latents, tmp_path, capsys):
    vae, latents = tiny_latents
    (tmp_path / "cfg.yaml").write_text(
        "model: tiny\nclip_frames: 8\nmodel_overrides: {patch_size: 4, latent_size: [8, 8]}\n")
    code = main(["train", "--data", str(latents), "--vae", str(vae), "--out", str(tmp_path / "r"),
                 "--config", str(tmp_path / "cfg.yaml"), "--steps", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "tokens per frame" in err and err.count("\n") == 1


DIST_SCRIPT = """
import hashlib, json, os, sys
import torch
import train.train_dit as td
from train.configs import DiTTrainConfig

seen = []
class Recording(td.LatentClips):
    def __getitem__(self, i):
        seen.append(i)
        return super().__getitem__(i)
td.LatentClips = Recording
vae, data, out = sys.argv[1:4]
cfg = DiTTrainConfig(model="tiny", steps=3, batch_size=1, clip_frames=4, checkpoint_every=3, sample_every=100)
model = td.train_dit(data, vae, out, cfg)
digest = hashlib.sha256(b"".join(p.detach().float().numpy().tobytes() for p in model.parameters())).hexdigest()
rank = os.environ.get("RANK", "0")
with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
    json.dump({"digest": digest, "seen": seen}, f)
"""


def test_two_cpu_processes_split_the_data_and_end_with_identical_weights(tiny_latents, tmp_path):
    vae, latents = tiny_latents
    script = tmp_path / "dist.py"
    script.write_text(DIST_SCRIPT)
    out = tmp_path / "dist"
    # accelerate picks gloo on CPUs when told to use the CPU; --multi_gpu selects its torchrun launcher.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1",
           "ACCELERATE_USE_CPU": "true"}
    proc = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                           "--num_machines", "1", "--mixed_precision", "bf16", "--dynamo_backend", "no",
                           str(script), str(vae), str(latents), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["digest"] == ranks[1]["digest"]
    assert ranks[0]["seen"] and ranks[1]["seen"]
    assert set(ranks[0]["seen"]).isdisjoint(ranks[1]["seen"])  # each rank got its own share


def test_patch_size_keeps_a_frame_near_64_tokens():
    from train.train_dit import patch_size_for

    assert [patch_size_for(s, s) for s in (4, 8, 16, 32, 64)] == [2, 2, 2, 4, 8]
    assert patch_size_for(12, 20) == 2 and patch_size_for(24, 40) == 2  # 3 would not divide 40


def test_train_vae_encode_and_train_from_the_command_line(tmp_path):
    from data_tools.record import record
    from wm_video.models.vae import FrameVAE

    game, vae_run, latents, run = (tmp_path / n for n in ("game", "vae", "lat", "run"))
    record(game, episodes=2, frames=6, size=(128, 128), seed=1)
    assert main(["train-vae", "--data", str(game), "--out", str(vae_run),
                 "--steps", "1", "--batch-size", "2", "--mse-weight", "10"]) == 0
    assert FrameVAE.from_pretrained(str(vae_run / "vae")).latent_shape == (16, 16, 16)
    assert json.loads((vae_run / "train_config.json").read_text())["mse_weight"] == 10
    assert main(["encode", "--data", str(game), "--vae", str(vae_run / "vae"), "--out", str(latents)]) == 0
    (tmp_path / "cfg.yaml").write_text("model: tiny\nclip_frames: 4\nbatch_size: 1\nsample_every: 100\n")
    assert main(["train", "--data", str(latents), "--vae", str(vae_run / "vae"), "--out", str(run),
                 "--config", str(tmp_path / "cfg.yaml"), "--steps", "1"]) == 0
    dit = WorldModel.load(run / "model").dit
    assert dit.config.patch_size == 2 and dit.tokens_per_frame == 64


def test_a_training_step_runs_in_fp32_where_that_is_the_compute_dtype(tiny_latents, tmp_path, monkeypatch, capsys):
    from accelerate.state import AcceleratorState

    vae, latents = tiny_latents
    monkeypatch.setenv("WM_VIDEO_PRECISION", "fp32")
    AcceleratorState._reset_state(reset_partial_state=True)  # other tests in this process may have set bf16
    try:
        model = train_dit(latents, vae, tmp_path / "run", tiny_config(steps=2))
        assert AcceleratorState().mixed_precision == "no"
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    assert capsys.readouterr().out.startswith("compute: fp32") and next(model.parameters()).dtype == torch.float32
    assert WorldModel.load(tmp_path / "run" / "model").dit.config.max_frames == 8
