import json
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from data_tools.dataset import DatasetError
from data_tools.latents import LatentInfo, read_latent_episodes
from train.encode import encode_dataset
from train.eval_vae import evaluate_vae
from train.train_vae import VAETrainConfig, train_vae, vae_loss
from wm_video.cli import main
from wm_video.errors import UserError
from wm_video.models.storage import ModelError, load_model, save_pretrained_atomic
from wm_video.models.vae import FrameVAE

TINY = {"latent_channels": 4, "encoder_channels": (8, 16, 16), "decoder_channels": (16, 16, 8)}


def test_shapes_and_latent_grid():
    vae = FrameVAE()
    assert vae.latent_shape == (8, 16, 16) and vae.downsample_factor == 8  # 64 tokens with 2x2 patches
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    recon, posterior = vae(x)
    assert recon.shape == x.shape and posterior.mode().shape == (2, 8, 16, 16)
    wide = FrameVAE(image_size=(96, 160), **TINY)
    assert wide.latent_shape == (4, 12, 20)
    assert wide(torch.zeros(1, 3, 96, 160))[0].shape == (1, 3, 96, 160)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="divisible"):
        FrameVAE(image_size=(100, 100))
    with pytest.raises(ValueError, match="same number of levels"):
        FrameVAE(encoder_channels=(8, 8), decoder_channels=(8, 8, 8))


def test_save_load_round_trip_is_exact(tmp_path):
    vae = FrameVAE(image_size=(32, 32), **TINY)
    vae.save_pretrained(tmp_path / "v")
    assert list((tmp_path / "v").glob("*.safetensors"))
    loaded = load_model(FrameVAE, tmp_path / "v")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(loaded.encode(x).mode()), vae.eval().decode(vae.encode(x).mode()),
                                   rtol=0, atol=0)
    assert loaded.latent_shape == vae.latent_shape and list(loaded.config.image_size) == [32, 32]


def test_a_save_killed_midway_does_not_block_the_next(tmp_path):
    vae = FrameVAE(image_size=(32, 32), **TINY)
    save_pretrained_atomic(vae, tmp_path / "vae")
    for left in (".vae.old", ".vae.partial"):  # what a kill during a save can leave behind
        (tmp_path / left).mkdir()
        (tmp_path / left / "config.json").write_text("{}")
    save_pretrained_atomic(vae, tmp_path / "vae")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vae"]
    load_model(FrameVAE, tmp_path / "vae")


def test_damaged_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="config.json missing"):
        load_model(FrameVAE, tmp_path / "nothing")
    vae = FrameVAE(image_size=(32, 32), **TINY)
    vae.save_pretrained(tmp_path / "v")
    weights = next((tmp_path / "v").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:300])
    with pytest.raises(ModelError, match="cannot load FrameVAE"):
        load_model(FrameVAE, tmp_path / "v")
    with torch.no_grad():
        vae.decoder.conv_in.weight[0, 0, 0, 0] = float("nan")
    vae.save_pretrained(tmp_path / "nan")
    with pytest.raises(ModelError, match="NaN"):
        load_model(FrameVAE, tmp_path / "nan")


def test_training_batches_are_the_recorded_frames_and_come_in_order(tiny_dataset):
    from data_tools.dataset import read_episode
    from train.frames import FrameSource, prefetched
    from wm_video.models.vae import frames_to_input

    source = FrameSource(tiny_dataset)
    first = read_episode(tiny_dataset, 0).frames
    assert torch.equal(source.frames([0, 3, 11]), frames_to_input(torch.from_numpy(first[[0, 3, 11]])))
    keys = [(4, 0, step) for step in range(5)]
    for batch, key in zip(prefetched(source.batch, keys), keys, strict=True):
        assert torch.equal(batch, source.batch(*key))


def test_a_tiny_vae_overfits_a_few_frames(tiny_dataset):
    from train.frames import FrameSource

    torch.manual_seed(0)
    frames = FrameSource(tiny_dataset).frames([0, 5, 13, 20])
    vae = FrameVAE(image_size=(32, 32), latent_channels=8, encoder_channels=(32, 32, 32),
                   decoder_channels=(32, 32, 32))
    opt = torch.optim.Adam(vae.parameters(), lr=2e-3)
    cfg = VAETrainConfig()
    for _ in range(300):
        loss, logs = vae_loss(vae, frames, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert logs["psnr"] > 24, logs  # from ~10 dB at the start


def test_train_resume_encode_and_eval_end_to_end(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    cfg = VAETrainConfig(steps=4, batch_size=4, checkpoint_every=2, log_every=1, image_every=2, vae=TINY)
    train_vae(tiny_dataset, run, cfg)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000002", "step_0000004"]
    assert list(run.glob("train-vae/events.out.tfevents.*"))
    # A longer run in the same folder resumes at step 4 instead of starting over.
    cfg.steps = 6
    train_vae(tiny_dataset, run, cfg)
    assert (run / "checkpoints" / "step_0000006").exists()

    # Fine-tuning only the decoder keeps the encoder, so latents made before stay valid.
    with pytest.raises(UserError, match="--decoder-only needs --init"):
        train_vae(tiny_dataset, tmp_path / "decoder", replace(cfg, decoder_only=True))
    train_vae(tiny_dataset, tmp_path / "decoder", replace(cfg, steps=2, decoder_only=True), init=run / "vae")
    before, after = (FrameVAE.from_pretrained(str(d / "vae")) for d in (run, tmp_path / "decoder"))
    for name, weight in before.state_dict().items():
        assert torch.equal(weight, after.state_dict()[name]) == name.startswith("encoder."), name

    latents = tmp_path / "latents"
    assert encode_dataset(tiny_dataset, run / "vae", latents) == 2
    assert encode_dataset(tiny_dataset, run / "vae", latents) == 0  # already complete
    info, episodes = read_latent_episodes(latents)
    assert info.latent_shape == (4, 4, 4) and len(episodes) == 2
    z, actions = episodes[1]
    assert z.shape == (12, 4, 4, 4) and actions.shape == (12, 25)
    assert 0.5 < float(np.std(z.astype(np.float32)) * info.scaling_factor) < 2.0
    assert LatentInfo.read(latents).scaling_factor == info.scaling_factor
    # Worker processes write the same latents as the single-process loop.
    assert encode_dataset(tiny_dataset, run / "vae", tmp_path / "latents2", workers=2) == 2
    for (z1, a1), (z2, a2) in zip(episodes, read_latent_episodes(tmp_path / "latents2")[1], strict=True):
        np.testing.assert_allclose(z1.astype(np.float32), z2.astype(np.float32), atol=2e-3)  # thread counts differ
        np.testing.assert_array_equal(a1, a2)

    report = evaluate_vae(run / "vae", tiny_dataset, tmp_path / "report", max_frames=16)
    assert report["frames"] == 16 and 0 < report["ssim"] <= 1 and report["compression_ratio"] == 48
    assert report["blur_equivalent_px"] is None or 0 < report["blur_equivalent_px"] < 8
    assert (tmp_path / "report" / "sidebyside.png").exists()
    assert json.loads((tmp_path / "report" / "report.json").read_text())["psnr"] == report["psnr"]


def test_a_killed_training_resumes_from_its_last_checkpoint(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    script = (
        "import sys; from train.train_vae import VAETrainConfig, train_vae\n"
        f"train_vae({str(tiny_dataset)!r}, {str(run)!r}, VAETrainConfig(steps=10000, batch_size=2, "
        f"checkpoint_every=3, vae={TINY!r}))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((run / "checkpoints").glob("step_*")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = sorted((run / "checkpoints").glob("step_*"))
    assert saved, "no checkpoint was written before the kill"
    step = int(saved[-1].name.split("_")[1])
    cfg = VAETrainConfig(steps=step + 2, batch_size=2, checkpoint_every=3, vae=TINY)
    train_vae(tiny_dataset, run, cfg)  # resumes: only two more steps
    assert (run / "checkpoints" / f"step_{step + 2:07d}").exists()


def test_blur_equivalent_finds_the_blur_that_was_applied(tiny_dataset):
    from train.eval_vae import blur_equivalent, quality, sample_frames
    from wm_video.metrics import gaussian_blur

    frames = sample_frames(tiny_dataset, 16)
    for sigma in (0.6, 1.5):
        blurred = gaussian_blur(frames, sigma)
        assert blur_equivalent(frames, quality(frames, blurred)[0]) == pytest.approx(sigma, abs=0.02)
    assert blur_equivalent(frames, 1.0) is None  # worse than any blur up to 8 px


def test_cli_refuses_a_dataset_of_another_frame_size(tiny_dataset, tmp_path, capsys):
    vae = FrameVAE(image_size=(64, 64), **TINY)
    vae.save_pretrained(tmp_path / "v64")
    assert main(["encode", "--data", str(tiny_dataset), "--vae", str(tmp_path / "v64"), "--out",
                 str(tmp_path / "z")]) == 1
    err = capsys.readouterr().err
    assert "frames are 32x32, but the VAE" in err and err.count("\n") == 1
    with pytest.raises(DatasetError):
        evaluate_vae(tmp_path / "v64", tiny_dataset, tmp_path / "r")


def test_train_vae_is_configured_as_train_is_a_file_then_flags(tmp_path):
    from train.configs import VAE_LAYOUT, VAETrainConfig, load_config

    (tmp_path / "vae.yaml").write_text("steps: 300\nmse_weight: 30\n")
    cfg = load_config(tmp_path / "vae.yaml", VAETrainConfig, steps=None, lr=1e-4)
    assert (cfg.steps, cfg.mse_weight, cfg.lr, cfg.batch_size) == (300, 30, 1e-4, VAETrainConfig().batch_size)
    assert cfg.vae == VAE_LAYOUT  # a new VAE gets the shipped layout
    (tmp_path / "bad.yaml").write_text("stepz: 3\n")
    with pytest.raises(UserError, match="bad.yaml: unknown setting"):
        load_config(tmp_path / "bad.yaml", VAETrainConfig)
