import json

import numpy as np
import pytest

from data_tools.dataset import read_episode, read_info
from data_tools.game import GameConfig
from data_tools.game.blocks import LABEL_NAMES
from data_tools.record import episode_seed, play_episode, record
from evaluation.episodes import real_episode
from evaluation.judged import iou_curve
from wm_video.judge import frechet_distance, judge_features, load_judge, mean_iou
from wm_video.metrics import gaussian_blur


@pytest.fixture(scope="module")
def judge():
    return load_judge()


@pytest.fixture(scope="module")
def real():
    """Two short episodes of the real game at the judge's size, with their true labels."""
    return [real_episode(seed, 48, (128, 128)) for seed in (11, 12)]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("labelled")
    record(root / "train", episodes=3, frames=24, size=(64, 64), seed=7, labels=True)
    record(root / "heldout", episodes=1, frames=24, size=(64, 64), seed=8, labels=True)
    return root


def test_record_labels_round_trip(labelled, tiny_dataset):
    info = read_info(labelled / "train")
    assert info.extra["label_classes"] == list(LABEL_NAMES)
    e = read_episode(labelled / "train", 1)
    assert e.labels.shape == e.frames.shape[:3] and e.labels.dtype == np.uint8
    again = play_episode(episode_seed(7, 1), 24, GameConfig(width=64, height=64), labels=True)
    np.testing.assert_array_equal(e.labels, again.labels)  # PNG is lossless; the game deterministic
    np.testing.assert_array_equal(e.frames, again.frames)
    assert read_episode(tiny_dataset, 0).labels is None  # recorded without: as before


def test_train_judge_reaches_its_accuracy_and_refuses_a_dataset_without_labels(labelled, tiny_dataset, tmp_path,
                                                                                capsys):
    from train.train_judge import JudgeTrainConfig, train_judge
    from wm_video.cli import main

    cfg = JudgeTrainConfig(steps=120, batch_size=16, crop=32, lr=5e-3, heldout_every=2, channels=(8, 16, 16, 24))
    figures = train_judge(labelled / "train", labelled / "heldout", tmp_path / "run", cfg)
    assert figures["pixel_accuracy"] >= 0.8, figures  # 120 steps on 72 frames: 86.5% here
    assert (tmp_path / "run" / "judge" / "README.md").read_text().count("%") >= 1
    assert load_judge(tmp_path / "run" / "judge").num_classes == len(LABEL_NAMES)
    code = main(["train-judge", "--data", str(tiny_dataset), "--heldout", str(labelled / "heldout"),
                 "--out", str(tmp_path / "bad"), "--steps", "1"])
    err = capsys.readouterr().err
    assert code == 1 and f"{tiny_dataset}: has no label maps" in err and err.count("\n") == 1
    assert not (tmp_path / "bad" / "judge").exists()


def test_consistency_ranks_real_above_blurred_above_noise_and_falls_with_a_shift(judge, real):
    frames = np.concatenate([e.frames for e in real])
    labels = np.concatenate([e.labels for e in real])
    noise = np.random.default_rng(0).integers(0, 256, frames.shape, dtype=np.uint8)
    scores = [iou_curve(judge, f, labels).mean() for f in (frames, gaussian_blur(frames, 1.0), noise)]
    assert scores[0] > scores[1] > scores[2], scores
    # Shifted by a block's width at 4 blocks away (128 px over a 70-degree view: about 23 px a block).
    shifted = np.roll(frames, 23, axis=2)
    assert iou_curve(judge, shifted, labels).mean() < scores[0] - 0.05


def test_realism_ranks_real_above_blurred_above_noise(judge, real):
    a, b = real[0].frames, real[1].frames
    ref = judge_features(judge, b)
    noise = np.random.default_rng(0).integers(0, 256, a.shape, dtype=np.uint8)
    d = [frechet_distance(judge_features(judge, x), ref) for x in (a, gaussian_blur(a, 1.0), noise)]
    assert d[0] < d[1] < d[2], d


def test_frechet_distance_and_mean_iou_on_known_sets():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 6)), rng.normal(size=(300, 6)) * 2 + 1
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a))
    # Two Gaussians N(0, I) and N(1, 4I) in 6 dimensions: 6 * 1 + 6 * (1 + 4 - 2 * 2) = 12.
    assert frechet_distance(a, b) == pytest.approx(12, rel=0.15)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a[:1], b)
    true = np.array([[[0, 0, 1, 1]]])
    assert mean_iou(true, true, 3)[0] == 1
    # class 0: 1 of 3 pixels in the union, class 1: 1 of 2, class 2 (predicted only): 0 of 1
    assert mean_iou(np.array([[[0, 2, 1, 0]]]), true, 3)[0] == pytest.approx((1 / 3 + 1 / 2 + 0) / 3)


def test_realism_command_writes_json_and_refuses_bad_input(real, tmp_path, capsys):
    from wm_video.cli import main
    from wm_video.video import write_video

    ref = tmp_path / "ref"
    record(ref, episodes=2, frames=24, size=(128, 128), seed=3)
    write_video(tmp_path / "real.mp4", real[0].frames)
    write_video(tmp_path / "blurred.mp4", gaussian_blur(real[0].frames, 1.0))
    out = tmp_path / "scores.json"
    assert main(["realism", str(tmp_path / "real.mp4"), str(tmp_path / "blurred.mp4"), "--reference", str(ref),
                 "--json", str(out)]) == 0
    scores = json.loads(out.read_text())
    assert set(scores) == {str(tmp_path / "real.mp4"), str(tmp_path / "blurred.mp4")}
    for s in scores.values():
        assert set(s) == {"realism_distance", "sharpness"} and s["realism_distance"] >= 0
    assert scores[str(tmp_path / "blurred.mp4")]["sharpness"] < scores[str(tmp_path / "real.mp4")]["sharpness"]
    capsys.readouterr()
    assert main(["realism", str(tmp_path / "missing.mp4"), "--reference", str(ref)]) == 1
    err = capsys.readouterr().err
    assert "missing.mp4: no such video file" in err and err.count("\n") == 1


def test_the_shipped_judge_is_small_safe_and_names_the_games_classes(judge):
    from wm_video.judge import SHIPPED

    files = [p for p in SHIPPED.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 2 * 2**20
    assert not any(p.suffix in (".bin", ".pt", ".pth", ".pkl") for p in files)  # safetensors only
    assert tuple(judge.config.class_names) == LABEL_NAMES
    figures = json.loads((SHIPPED / "accuracy.json").read_text())
    card = (SHIPPED / "README.md").read_text()
    assert figures["pixel_accuracy"] >= 0.9 and f"{figures['pixel_accuracy']:.1%}" in card
