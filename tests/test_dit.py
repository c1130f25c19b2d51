import json
from pathlib import Path

import pytest
import torch

from train.configs import DIT_PRESETS, DiTTrainConfig, load_config
from train.train_dit import teacher_forcing_mask
from wm_video.diffusion import add_noise, euler_step, sampling_levels, training_levels, velocity_target
from wm_video.errors import UserError
from wm_video.models.dit import WorldDiT, masked_attention, token_mask
from wm_video.models.storage import ModelError, load_model
from wm_video.rollout import KVCache, Rollout, RolloutConfig

TINY = dict(latent_channels=4, latent_size=(4, 4), **DIT_PRESETS["tiny"])
# The optional inputs a model can be given on top of the patches: each changes what a frame depends on.
EXTRAS = [{}, {"token_actions": True}]


def randomized(model: WorldDiT) -> WorldDiT:
    """adaLN-Zero starts every block as the identity; perturb the weights so every path carries signal."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def inputs(b=2, t=6, model=None):
    g = torch.Generator().manual_seed(1)
    c, (h, w) = 4, (4, 4)
    return torch.randn(b, t, c, h, w, generator=g), torch.rand(b, t, generator=g), torch.randn(b, t, 25, generator=g)


def test_shapes_tokens_and_parameter_count():
    model = WorldDiT(**TINY)
    x, t, a = inputs()
    assert model(x, t, a).shape == x.shape
    assert WorldDiT().tokens_per_frame == 64  # 16x16 latents in 2x2 patches
    assert 15e6 < sum(p.numel() for p in WorldDiT().parameters()) < 40e6


@pytest.mark.parametrize("extras", EXTRAS)
def test_causal_later_frames_and_actions_never_change_earlier_outputs(extras):
    model = randomized(WorldDiT(**TINY, **extras))
    x, t, a = inputs()
    base = model(x, t, a)
    x2, a2, t2 = x.clone(), a.clone(), t.clone()
    x2[:, 4] += 3.0
    a2[:, 4:] = -a2[:, 4:]
    t2[:, 5] = 0.9
    changed = model(x2, t2, a2)
    torch.testing.assert_close(changed[:, :4], base[:, :4], rtol=0, atol=1e-6)
    assert (changed[:, 4:] - base[:, 4:]).abs().max() > 1e-3


@pytest.mark.parametrize("frame_mask", [torch.ones(7, 7, dtype=torch.bool).tril(), teacher_forcing_mask(5),
                                        ((torch.rand(9, 9, generator=torch.Generator().manual_seed(0)) < 0.4)
                                         | torch.eye(9, dtype=torch.bool)).tril()])
def test_attention_over_the_key_frames_each_query_frame_sees_equals_masked_full_attention(frame_mask):
    n = 3  # tokens per frame
    q, k, v = torch.randn(3, 2, 2, len(frame_mask) * n, 8).unbind(0)
    full = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=token_mask(frame_mask, n))
    torch.testing.assert_close(masked_attention(q, k, v, frame_mask), full)


@pytest.mark.parametrize("extras", EXTRAS)
def test_kv_cache_matches_the_full_forward(extras):
    model = randomized(WorldDiT(**TINY, **extras))
    x, t, a = inputs()
    full = model(x, t, a)
    cache = KVCache(model, 6, batch=2)
    for i in range(6):
        out, kv = model(x[:, i:i + 1], t[:, i:i + 1], a[:, i:i + 1], past=cache.past())
        torch.testing.assert_close(out, full[:, i:i + 1], rtol=1e-4, atol=1e-5)
        cache.commit(kv, x[:, i:i + 1])


def test_teacher_forced_layout_predicts_each_frame_from_its_past_as_play_does():
    from train.train_dit import teacher_forcing_mask

    model = randomized(WorldDiT(**TINY))
    x, t, a = inputs(t=8)
    n = 4  # frames 0-3 are the past, 4-7 the noisy copies of the same frames
    both = model(x, t, a, positions=torch.arange(n).repeat(2), frame_mask=teacher_forcing_mask(n))
    for k in range(n):
        # Play: the past frames before k, then noisy frame k, in a plain frame-causal pass.
        seq = torch.cat([x[:, :k], x[:, n + k:n + k + 1]], 1)
        alone = model(seq, torch.cat([t[:, :k], t[:, n + k:n + k + 1]], 1),
                      torch.cat([a[:, :k], a[:, n + k:n + k + 1]], 1))
        torch.testing.assert_close(both[:, n + k], alone[:, -1], rtol=1e-4, atol=1e-5)


def test_own_past_guesses_each_frame_from_the_real_frames_before_it():
    from train.train_dit import own_predictions

    model = randomized(WorldDiT(**TINY))
    z, a = torch.randn(2, 4, 4, 4, 4), torch.randn(2, 4, 25)
    torch.manual_seed(1)
    guess = own_predictions(model, z, a, DiTTrainConfig())
    assert torch.equal(guess[:, 0], z[:, 0]) and not torch.allclose(guess[:, 1:], z[:, 1:])
    later = z.clone()
    later[:, 3] += 1.0  # changing frame 3 changes only the guess of frame 3
    torch.manual_seed(1)
    changed = own_predictions(model, later, a, DiTTrainConfig())
    torch.testing.assert_close(changed[:, :3], guess[:, :3])
    assert not torch.allclose(changed[:, 3], guess[:, 3])


def test_kv_cache_is_a_sliding_window_of_fixed_size():
    """Past the window, the cached model sees exactly the last frames, as a full forward over them does."""
    model = randomized(WorldDiT(**TINY))
    x, t, a = inputs(t=7)
    cache = KVCache(model, 3, batch=2)
    shape = cache.keys.shape
    for i in range(7):
        out, kv = model(x[:, i:i + 1], t[:, i:i + 1], a[:, i:i + 1], past=cache.past())
        cache.commit(kv, x[:, i:i + 1])
    assert cache.keys.shape == shape and cache.frames == 2
    # Keys are kept from when each frame was made, so compare against a model without that effect: one block.
    one = randomized(WorldDiT(**{**TINY, "depth": 1}))
    cache = KVCache(one, 3, batch=2)
    for i in range(7):
        out, kv = one(x[:, i:i + 1], t[:, i:i + 1], a[:, i:i + 1], past=cache.past())
        cache.commit(kv, x[:, i:i + 1])
    # Frame 4 was made with frame 3 as the frame before it, which only frame 4 itself still sees.
    window = torch.ones(4, 4, dtype=torch.bool).tril()
    window[2:, 0] = False
    full = one(x[:, 3:], t[:, 3:], a[:, 3:], positions=torch.arange(3, 7), frame_mask=window)
    torch.testing.assert_close(out, full[:, -1:], rtol=1e-4, atol=1e-5)


def test_save_load_round_trip_is_exact(tmp_path):
    model = randomized(WorldDiT(**TINY))
    model.save_pretrained(tmp_path / "dit")
    loaded = load_model(WorldDiT, tmp_path / "dit")
    x, t, a = inputs()
    torch.testing.assert_close(loaded(x, t, a), model(x, t, a), rtol=0, atol=0)


def test_bad_configs_and_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="divisible by patch_size"):
        WorldDiT(latent_size=(5, 5))
    model = WorldDiT(**TINY)
    x, t, a = inputs()
    with pytest.raises(ValueError, match=r"actions must be \(B, T, 25\)"):
        model(x, t, a[..., :24])
    with pytest.raises(ValueError, match="latents must be"):
        model(x[:, :, :3], t, a)
    with pytest.raises(ValueError, match="lower-triangular"):  # a frame may not see one laid out after it
        model(x, t, a, frame_mask=torch.ones(6, 6, dtype=torch.bool))
    (tmp_path / "c.yaml").write_text("steps: 3\nbogus: 1\n")
    with pytest.raises(UserError, match="unknown setting"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(UserError, match="unknown model size"):
        load_config(None, model="huge")
    assert load_config(None, steps=7).steps == 7
    gpu = load_config(Path(__file__).parents[1] / "train" / "default_gpu.yaml")  # the config the README names
    assert gpu.batch_size == 64 and gpu.model == "default"
    keys = load_config(Path(__file__).parents[1] / "train" / "number_keys.yaml")
    assert keys.model_overrides == {"token_actions": True} and keys.trainable == ["token_action_embed"]
    # Weights saved for another shape (e.g. before the frame-before inputs) name the weight that does not fit.
    model.save_pretrained(tmp_path / "dit")
    config = json.loads((tmp_path / "dit" / "config.json").read_text())
    (tmp_path / "dit" / "config.json").write_text(json.dumps({**config, "latent_channels": 8}))
    with pytest.raises(ModelError, match="size mismatch for patch_embed.weight"):
        load_model(WorldDiT, tmp_path / "dit")


def test_flow_matching_math():
    z, e = torch.randn(1, 2, 4, 4, 4), torch.randn(1, 2, 4, 4, 4)
    t = torch.tensor([[0.0, 1.0]])
    x = add_noise(z, e, t)
    torch.testing.assert_close(x[:, 0], z[:, 0])
    torch.testing.assert_close(x[:, 1], e[:, 1])
    # With the exact velocity, Euler steps from noise land on the clean latent.
    levels = sampling_levels(4, shift=3.0)
    assert levels[0] == 1 and levels[-1] == 0 and (levels[1:] < levels[:-1]).all()
    x = e.clone()
    for a, b in zip(levels[:-1], levels[1:], strict=True):
        x = euler_step(x, velocity_target(z, e), torch.full((1, 2), float(a)), torch.full((1, 2), float(b)))
    torch.testing.assert_close(x, z)
    # Training draws levels in (0, 1), shifted towards noise as the sampler's levels are.
    g = torch.Generator().manual_seed(0)
    plain, shifted = training_levels((10000,), generator=g), training_levels((10000,), 3.0, generator=g)
    assert shifted.min() > 0 and shifted.max() < 1
    assert (shifted > levels[1]).float().mean() > 3 * (plain > levels[1]).float().mean()


def test_rollout_is_deterministic_and_memory_stays_bounded():
    model = randomized(WorldDiT(**TINY))
    x, _, a = inputs(b=1, t=3)
    frames = []
    for _ in range(2):
        r = Rollout(model, RolloutConfig(steps=2, seed=3))
        r.reset(x[0], a[0])
        frames.append(torch.stack([r.step(a[0, i % 3]) for i in range(12)]))
        assert r.cache.frames == model.config.max_frames - 1
        assert r.cache.keys.shape[3] == (model.config.max_frames - 1) * model.tokens_per_frame
    torch.testing.assert_close(frames[0], frames[1], rtol=0, atol=0)


def test_a_tiny_model_overfits_a_tiny_sequence():
    from train.train_dit import dit_loss

    torch.manual_seed(0)
    model = WorldDiT(**TINY)
    z = torch.randn(1, 6, 4, 4, 4).repeat(4, 1, 1, 1, 1)
    actions = torch.randn(1, 6, 25).repeat(4, 1, 1)
    cfg = DiTTrainConfig(action_dropout=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    first = None
    for _ in range(400):
        loss, logs = dit_loss(model, z, actions, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first or logs["loss"]
    assert first > 1.0 and logs["loss"] < 0.35, (first, logs)


def test_cached_and_reference_modes_give_the_same_frames():
    torch.manual_seed(0)  # the bf16 tolerance below was checked on these weights
    model = randomized(WorldDiT(**TINY))
    x, _, a = inputs(b=1, t=3)
    out = {}
    for reference in (False, True):
        r = Rollout(model, RolloutConfig(steps=3, seed=5), reference=reference)
        r.reset(x[0], a[0])
        out[reference] = torch.stack([r.step(a[0, i % 3]) for i in range(10)])
    # Until the window (8 frames: 3 prompt + 5 new) is full, the two are the same computation.
    torch.testing.assert_close(out[False][:5], out[True][:5], rtol=1e-5, atol=1e-5)
    # Then cached keys keep what the oldest frames saw of frames since dropped: equal to bf16 precision.
    torch.testing.assert_close(out[False], out[True], rtol=0, atol=2**-7)
