"""The compute dtype: bf16 only where the hardware has it natively; every path runs in fp32 as well."""

import numpy as np
import pytest
import torch

from data_tools.game import Game
from data_tools.scripted_player import ScriptedPlayer
from wm_video import cli
from wm_video.errors import UserError
from wm_video.precision import ENV, compute_precision, cpu_has_native_bf16, decide
from wm_video.rollout import RolloutConfig, WorldSession
from wm_video.world_model import DEFAULT_MODEL, WorldModel


def fake_cpu(monkeypatch, capability: str, avx512_bf16: bool, amx: bool = False) -> None:
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)


@pytest.mark.parametrize("capability, avx512_bf16, amx, expected", [
    ("AVX2", False, False, "fp32"),  # Zen 1-3, Intel client CPUs: bf16 emulated
    ("AVX512", False, False, "fp32"),  # Skylake-X: AVX-512 without its bf16 instructions
    ("AVX512", True, False, "bf16"),  # Zen 4/5, Cooper Lake
    ("AMX", False, True, "bf16"),  # Sapphire Rapids
    ("AVX2", True, False, "fp32"),  # torch told to dispatch no higher (ATEN_CPU_CAPABILITY=avx2)
    ("DEFAULT", False, False, "fp32"),
])
def test_auto_picks_bf16_only_where_the_cpu_multiplies_it_natively(monkeypatch, capability, avx512_bf16, amx,
                                                                    expected):
    monkeypatch.delenv(ENV, raising=False)
    fake_cpu(monkeypatch, capability, avx512_bf16, amx)
    precision = compute_precision("cpu")
    assert precision.name == expected
    assert precision.dtype == {"fp32": torch.float32, "bf16": torch.bfloat16}[expected]
    assert precision.mixed_precision == {"fp32": "no", "bf16": "bf16"}[expected]
    assert str(precision).startswith(f"compute: {expected} (this {capability} CPU has ")
    assert cpu_has_native_bf16(capability, avx512_bf16, amx) == (expected == "bf16")


def test_the_override_wins_and_a_bad_value_is_one_clear_error(monkeypatch):
    fake_cpu(monkeypatch, "AVX2", avx512_bf16=False)
    for value, expected in (("bf16", "bf16"), ("FP32", "fp32"), (" auto ", "fp32"), ("", "fp32")):
        monkeypatch.setenv(ENV, value)
        assert compute_precision("cpu").name == expected
    monkeypatch.setenv(ENV, "bf16")
    assert "forced" in compute_precision("cpu").reason and not compute_precision("cpu").native_bf16
    with pytest.raises(UserError, match=f"{ENV}='fp16': choose one of auto, fp32, bf16"):
        decide("fp16", native=True, what="x")


def test_every_computing_command_takes_precision_and_says_what_it_computes_in(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(ENV, raising=False)
    parser = cli.build_parser()
    for command in ("play", "render --out x.mp4", "eval --out r", "encode --data d --vae v --out o",
                    "eval-vae --vae v --data d --out o", "train --data d --vae v --out o",
                    "train-vae --data d --out o"):
        assert parser.parse_args([*command.split(), "--precision", "fp32"]).precision == "fp32"
    # It reaches the environment (worker processes read it there) and the one line comes first.
    code = cli.main(["encode", "--data", str(tmp_path / "none"), "--vae", "v", "--out", str(tmp_path / "o"),
                     "--precision", "fp32"])
    out = capsys.readouterr()
    assert code == 1 and "error" in out.err
    assert out.out.splitlines()[0].startswith("compute: fp32 (forced by")
    assert compute_precision("cpu").name == "fp32"


def test_fp32_and_bf16_sessions_of_the_shipped_model_agree_within_bf16_precision():
    world = WorldModel.load(DEFAULT_MODEL)
    game, player = Game(9001), ScriptedPlayer(9001)
    prompt = np.stack([game.reset()] + [game.step(player.act(game)) for _ in range(7)])
    actions = [player.act(game) for _ in range(3)]
    frames = {}
    for dtype in (torch.float32, torch.bfloat16):
        session = WorldSession(world, RolloutConfig(seed=0), dtype=dtype)
        assert session.rollout.dtype == dtype
        session.reset(prompt, np.zeros((8, 25), np.float32))
        frames[dtype] = np.stack([session.step(a) for a in actions]).astype(int)
    # measured: 0.2-0.3 grey levels a frame apart, while the scene itself moves 5-12 a frame
    apart = np.abs(frames[torch.float32] - frames[torch.bfloat16]).mean(axis=(1, 2, 3))
    assert (apart < 1.5).all(), apart
