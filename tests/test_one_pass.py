"""The one-pass model: its play engine against the full forward, its cost per frame, and its training stages."""

import json
import shutil
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from data_tools.dataset import DatasetError
from tests.test_dit import TINY, randomized
from train.adversarial import (
    ClipDiscriminator,
    PatchDiscriminator,
    discriminator_loss,
    generator_loss,
    other_actions,
    patch_discriminator_loss,
)
from train.configs import DecoderTrainConfig, OnePassTrainConfig, load_config
from train.one_pass import frames_before, one_pass_frames, own_rollout, train_one_pass
from train.train_decoder import guesses, train_decoder
from wm_video.cli import main
from wm_video.errors import UserError
from wm_video.models.dit import WorldDiT
from wm_video.models.storage import ModelError
from wm_video.rollout import Rollout, RolloutConfig, WorldSession
from wm_video.world_model import WorldModel


def prompt(t=3):
    g = torch.Generator().manual_seed(1)
    return torch.randn(t, 4, 4, 4, generator=g), torch.randn(t, 25, generator=g)


def test_play_through_the_cache_equals_one_frame_causal_forward_of_the_whole_clip():
    model = randomized(WorldDiT(**TINY))  # max_frames 8: the window sees the whole clip
    z, a = prompt(3)
    actions = torch.cat([a, torch.randn(4, 25, generator=torch.Generator().manual_seed(2))])
    rollout = Rollout(model, RolloutConfig(seed=7), one_pass=True)
    rollout.reset(z, a)
    made = torch.stack([rollout.step(actions[i]) for i in range(3, 7)])

    # The same noise, drawn in the same order: one pass per prompt frame, then one per made frame.
    g = torch.Generator().manual_seed(7)
    noise = torch.cat([torch.randn(1, 1, 4, 4, 4, generator=g) for _ in range(7)], dim=1)
    # A prompt frame was produced by the action pressed on the one before; step(a) makes the frame a produces.
    producing = torch.cat([torch.zeros(1, 25), a[:-1], actions[3:]])
    clip = torch.cat([z, made])[None]
    with torch.no_grad():
        whole = one_pass_frames(model, noise, frames_before(clip), producing[None])
        batched = own_rollout(model, torch.cat([z[None], torch.zeros(1, 4, 4, 4, 4)], 1), producing[None], noise, 3)
    torch.testing.assert_close(made, whole[0, 3:], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(batched[0, 3:], made, rtol=1e-4, atol=1e-4)  # training's rollout is play's


def test_a_frame_costs_one_pass_over_its_own_tokens():
    model = randomized(WorldDiT(**TINY))
    z, a = prompt(3)
    passes = []
    model.register_forward_hook(lambda m, args, kwargs, out: passes.append(args[0].shape[1]), with_kwargs=True)
    rollout = Rollout(model, RolloutConfig(steps=3), one_pass=True)
    rollout.reset(z, a)
    passes.clear()
    for _ in range(5):
        rollout.step(a[0])
    assert passes == [1] * 5  # the Euler sampler: 3 passes a frame, the first over two frames
    euler = Rollout(model, RolloutConfig(steps=3))
    euler.reset(z, a)
    passes.clear()
    euler.step(a[0])
    assert passes == [2, 1, 1]


def test_model_json_names_the_sampler_and_a_session_follows_it(tiny_world, tmp_path, capsys):
    world = WorldModel.load(tiny_world)
    assert world.info.sampler == "euler"  # the default, also for a model.json written before samplers
    info = json.loads((tiny_world / "model.json").read_text())
    one_pass = tmp_path / "one_pass"
    world.info = type(world.info)(**{**info, "sampler": "one_pass"})
    world.save(one_pass)
    session = WorldSession(WorldModel.load(one_pass), dtype=torch.float32)
    assert session.rollout.one_pass
    session.reset(np.zeros((3, 32, 32, 3), np.uint8), np.zeros((3, 25), np.float32))
    assert session.step(np.zeros(25, np.float32)).shape == (32, 32, 3)

    assert main(["render", "--model", str(one_pass), "--steps", "2", "--out", str(tmp_path / "x.gif")]) == 1
    assert "a one-pass model makes each frame in one pass" in capsys.readouterr().err
    assert not (tmp_path / "x.gif").exists()

    (one_pass / "model.json").write_text(json.dumps({**info, "sampler": "ddim"}))
    with pytest.raises(ModelError, match=r"model.json: unknown sampler 'ddim'"):
        WorldModel.load(one_pass)


def test_discriminator_losses_and_their_gradients():
    model = randomized(WorldDiT(**TINY))
    disc = ClipDiscriminator(model, depth=1)
    assert len(disc.trunk.blocks) == 1 and not hasattr(disc.trunk, "final")
    g = torch.Generator().manual_seed(3)
    real, made = torch.randn(2, 5, 4, 4, 4, generator=g), torch.randn(2, 5, 4, 4, 4, generator=g, requires_grad=True)
    actions = torch.randn(2, 5, 25, generator=g)
    judged = slice(2, None)
    disc.requires_grad_(False)
    generator_loss(disc, real, made, actions, judged, 0.3).backward()
    assert made.grad[:, 2:].abs().sum() > 0  # the made frames that are judged get a gradient
    assert all(p.grad is None for p in disc.parameters())
    disc.requires_grad_(True)
    loss, logs = discriminator_loss(disc, real, made, actions, judged, 0.3, r1_weight=1.0)
    loss.backward()
    assert logs["disc_smoothness"] > 0 and logs["loss_disc_actions"] > 0 and disc.head[-1].weight.grad.abs().sum() > 0
    wrong = other_actions(actions, judged)  # the matching term's negatives: another clip's keys, judged frames only
    assert torch.equal(wrong[:, :2], actions[:, :2]) and torch.equal(wrong[0, 2:], actions[1, 2:])
    with pytest.raises(ValueError, match="disc_depth must be 1..2"):
        ClipDiscriminator(model, depth=3)


@pytest.fixture
def fresh_accelerate_state():
    """accelerate keeps one state per process; other tests here pick another mixed precision."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.mark.usefixtures("fresh_accelerate_state")
def test_both_stages_train_export_a_one_pass_model_and_resume(tiny_world, tiny_latents, tmp_path, capsys):
    _, latents = tiny_latents  # made by another tiny VAE of the same latent shape: enough to train on
    common = dict(steps=2, batch_size=2, clip_frames=6, prompt_frames=3, checkpoint_every=1, log_every=1,
                  sample_every=2, sample_frames=8)
    train_one_pass(latents, tiny_world, tmp_path / "distill", OnePassTrainConfig(stage="distill", **common))
    distilled = WorldModel.load(tmp_path / "distill" / "model")
    assert distilled.info.sampler == "one_pass" and (tmp_path / "distill" / "samples" / "step_0000002.gif").exists()
    with pytest.raises(UserError, match="starts from a model with the euler sampler"):
        train_one_pass(latents, tmp_path / "distill" / "model", tmp_path / "again",
                       OnePassTrainConfig(stage="distill", **common))
    with pytest.raises(UserError, match="run the distill stage first"):
        train_one_pass(latents, tiny_world, tmp_path / "adv", OnePassTrainConfig(stage="adversarial", **common))

    adv = OnePassTrainConfig(stage="adversarial", disc_depth=1, **common)
    with pytest.raises(UserError, match="needs at least 2 clips"):  # its wrong actions come from another clip
        train_one_pass(latents, tmp_path / "distill" / "model", tmp_path / "one", replace(adv, batch_size=1))
    assert not (tmp_path / "one").exists()
    train_one_pass(latents, tmp_path / "distill" / "model", tmp_path / "adv", adv)
    before = WorldModel.load(tmp_path / "adv" / "model").dit.state_dict()
    assert any(not torch.equal(before[k], v) for k, v in distilled.dit.state_dict().items())  # it trained
    adv.steps = 3
    capsys.readouterr()
    train_one_pass(latents, tmp_path / "distill" / "model", tmp_path / "adv", adv)  # resumes at step 2
    assert "(step 2)" in capsys.readouterr().out and (tmp_path / "adv" / "checkpoints" / "step_0000003").exists()


def test_a_config_with_an_unknown_stage_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: dmd\n")
    with pytest.raises(UserError, match="stage must be one of distill, adversarial"):
        load_config(bad, OnePassTrainConfig)


def test_patch_discriminator_loss_and_its_gradients():
    disc = PatchDiscriminator(width=8)
    g = torch.Generator().manual_seed(4)
    real, made = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1, torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    assert disc(real).shape == (2, 1, 4, 4)  # a logit per patch
    loss, logs = patch_discriminator_loss(disc, real, made, r1_weight=1.0)
    loss.backward()
    assert logs["disc_r1"] > 0 and disc.layers[0].weight.grad.abs().sum() > 0


@pytest.mark.usefixtures("fresh_accelerate_state")
def test_decoder_stage_trains_only_the_decoder_resumes_and_refuses_latents_without_their_frames(
        tiny_world, tiny_latents, tmp_path, capsys):
    _, latents = tiny_latents
    cfg = DecoderTrainConfig(steps=3, batch_size=2, clip_frames=3, disc_width=8, disc_warmup=1, checkpoint_every=1,
                             log_every=1, sample_every=3, sample_frames=6)
    train_decoder(latents, tiny_world, tmp_path / "dec", cfg)
    before, after = WorldModel.load(tiny_world), WorldModel.load(tmp_path / "dec" / "model")
    changed = {name.split(".")[0] for name, p in after.vae.state_dict().items()
               if not torch.equal(p, before.vae.state_dict()[name])}
    assert changed == {"decoder"}  # the encoder, so the latent space, is untouched
    assert all(torch.equal(p, before.dit.state_dict()[k]) for k, p in after.dit.state_dict().items())
    assert after.info == before.info and (tmp_path / "dec" / "samples" / "step_0000003.gif").exists()
    cfg.steps = 4
    capsys.readouterr()
    train_decoder(latents, tiny_world, tmp_path / "dec", cfg)
    assert "(step 3)" in capsys.readouterr().out and (tmp_path / "dec" / "checkpoints" / "step_0000004").exists()

    one_pass = tmp_path / "one_pass"
    before.info = type(before.info)(**{**asdict(before.info), "sampler": "one_pass"})
    before.save(one_pass)
    z, a = torch.randn(2, 3, 4, 4, 4), torch.randn(2, 3, 25)
    world = WorldModel.load(one_pass)
    with torch.no_grad():
        expected = one_pass_frames(world.dit, torch.zeros_like(z), frames_before(z), a)
    assert guesses(world.dit, world.info.sampler, z, a).shape == expected.shape

    moved = tmp_path / "moved"
    shutil.copytree(latents, moved)
    meta = moved / "meta" / "latents.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "source": str(tmp_path / "gone")}))
    with pytest.raises(DatasetError, match=r"moved: the frames it was encoded from .*gone\) are not there"):
        train_decoder(moved, tiny_world, tmp_path / "dec2", cfg)
    assert not (tmp_path / "dec2" / "model").exists()
