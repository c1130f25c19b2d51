import json

import cv2
import numpy as np
import pytest

from data_tools.game import Game, GameConfig
from evaluation.episodes import real_episode
from evaluation.idm import idm_labels
from evaluation.keys import BLOCK_JUDGED, BLOCK_SEARCH, HOTBAR, block_key_trial, number_key_trial
from evaluation.report import compare_reports, format_metrics, read_report, standard_error
from evaluation.suite import EvalConfig, evaluate
from wm_video.actions import ACTION_INDEX, action_from_dict
from wm_video.errors import UserError
from wm_video.metrics import sharpness
from wm_video.rollout import RolloutConfig


def test_sharpness_falls_with_blur():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    blurred = np.stack([cv2.GaussianBlur(f, (5, 5), 2) for f in frames])
    assert (sharpness(blurred) < sharpness(frames) / 3).all()
    assert sharpness(np.full((1, 8, 8, 3), 90, np.uint8))[0] == 0


def test_idm_labels_split_yaw_and_forward():
    a = np.stack([action_from_dict({"camera.yaw": -5}), action_from_dict({"forward": 1}),
                  action_from_dict({"camera.yaw": 4, "forward": 1})])
    assert idm_labels(a).tolist() == [[0, 0], [1, 1], [2, 1]]


class Player:
    """A stand-in for a WorldSession that plays the real game on from wherever the prompt is in the
    explorer's episode, each action first passed through ``edit``: a model that follows every key
    (no edit), ignores one, or takes any number key for hotbar.5 (a model that lit one slot)."""

    def __init__(self, seed: int, size: tuple[int, int], edit=lambda action: action):
        self.seed, self.size, self.edit = seed, size, edit
        self.episode = real_episode(seed, BLOCK_SEARCH, size)

    def reset(self, frames, actions):
        n, real = len(frames), self.episode.frames
        start = next(t for t in range(len(real)) if (real[t:t + n] == frames).all())
        self.game = Game(self.seed, GameConfig(width=self.size[0], height=self.size[1]))
        self.game.reset()
        for a in np.concatenate([self.episode.actions[:start], actions[:-1]]):
            self.game.step(a)

    def step(self, action):
        return self.game.step(self.edit(action.copy()))


def ignoring(columns):
    def edit(action):
        action[columns] = 0
        return action
    return edit


def always_5(action):
    if action[HOTBAR].any():
        action[HOTBAR] = 0
        action[HOTBAR[4]] = 1
    return action


@pytest.mark.parametrize("keys", ["follow", "ignore", "always 5"])
def test_number_keys_are_followed_only_by_a_model_that_shows_the_press(keys):
    edit = {"follow": lambda a: a, "ignore": ignoring(HOTBAR), "always 5": always_5}[keys]
    followed, strip = number_key_trial(Player(5, (32, 32), edit), 5, (32, 32), prompt=4)  # seed 5: hotbar.7
    assert followed == {1: keys == "follow", 4: keys == "follow"}
    assert strip.shape[1] == 3 * 32 and 0 < strip.shape[0] < 32  # the hotbar's rows: real | without | imagined


@pytest.mark.parametrize("follow", [True, False])
@pytest.mark.parametrize(("key", "seed"), [("use", 3), ("attack", 1)])
def test_placing_and_breaking_are_followed_only_by_a_model_that_shows_them(key, seed, follow):
    player = Player(seed, (32, 32)) if follow else Player(seed, (32, 32), ignoring(ACTION_INDEX[key]))
    followed, frames = block_key_trial(player, player.episode, seed, 4, key)
    assert followed == dict.fromkeys(BLOCK_JUDGED, follow)
    assert frames.shape == (32, 3 * 32, 3)  # real | without | imagined


def test_a_seed_whose_explorer_never_places_a_block_has_no_trial():
    player = Player(2, (32, 32))
    assert block_key_trial(player, player.episode, 2, 4, "use") is None


def test_the_suite_writes_metrics_plots_and_video(tiny_world, tmp_path):
    cfg = EvalConfig(seeds=[5, 6], prompt=4, horizon=16, teacher_forced=2, stability_frames=120,
                     idm_seeds=[7], idm_frames=60, idm_steps=20, rollout=RolloutConfig(steps=1))
    m = evaluate(tiny_world, tmp_path / "report", cfg)
    assert len(m["autoregressive"]["psnr_by_horizon"]) == len(m["autoregressive"]["still_psnr_by_horizon"]) == 16
    assert np.allclose(np.mean(m["autoregressive"]["psnr_by_episode"], axis=0), m["autoregressive"]["psnr_by_horizon"],
                       atol=0.01)
    assert standard_error(m["autoregressive"]).shape == (16,)
    assert standard_error(m["autoregressive"]).max() > 0  # two different episodes: a spread
    assert np.isfinite(m["teacher_forced"]["copy_last_frame_psnr"])  # the do-nothing baseline
    assert set(m["controllability"]) == {"delta_psnr@4", "delta_psnr@16"}
    assert 0 <= m["action_following"]["idm_accuracy_real"] <= 1
    st = m["stability"]
    assert st["frames"] == 120 and st["rollouts"] == 2 and len(st["in_range_share_by_100_frames"]) == 2
    assert np.asarray(st["in_range_by_rollout"]).shape == (2, 2)
    assert np.isclose(np.mean(st["in_range_by_rollout"], axis=0), st["in_range_share_by_100_frames"], atol=0.01).all()
    assert m["speed"]["fps"] > 0 and np.isfinite(m["revisiting"]["psnr_after_360"])
    assert np.isclose(np.mean(m["revisiting"]["psnr_by_episode"]), m["revisiting"]["psnr_after_360"], atol=0.01)
    # with two seeds, each turned frame's "other place" is the other seed's frame before its turn
    margin = np.subtract(m["revisiting"]["psnr_by_episode"], m["revisiting"]["memory_margin_by_episode"])
    assert np.isclose(margin.mean(), m["revisiting"]["psnr_against_other_places"], atol=0.01)
    assert "so memory adds" in format_metrics(m)
    assert st["sharpness_vs_real"] > 0 and len(st["sharpness_vs_real_by_100_frames"]) == 2
    because = st["out_of_range_because"]
    assert len(because) == 8 and all(0 <= v <= 1 for v in because.values())
    out = 1 - st["all_in_range"]  # a frame out of range is out for one reason or more
    assert 0.5 <= st["real_in_range"] <= 1  # the range is the real frames' own 1st-99th percentiles
    assert max(because.values()) - 1e-6 <= out <= sum(because.values()) + 1e-6
    assert all(0 <= m["action_following"][f"number_keys_followed@{k}"] <= 1 for k in (1, 4))
    assert m["action_following"]["place_presses"] == 2 and m["action_following"]["break_presses"] == 0  # seeds 5, 6
    assert all(0 <= m["action_following"][f"place_followed@{k}"] <= 1 for k in BLOCK_JUDGED)
    for name in ("metrics.json", "plots.png", "long_rollouts.png", "number_keys.png", "place_break.png",
                 "real_vs_imagined.mp4"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["vae"]["psnr"] == m["vae"]["psnr"]
    assert all(s in format_metrics(m) for s in ("teacher-forced", "number keys", "place (use)", "break (attack)"))
    assert "no press that shows on these seeds" in format_metrics(m) and "nan" not in format_metrics(m)  # no attack
    c, r = m["consistency"], m["realism"]  # the judge's scores, with their real-game ceiling and floor
    assert len(c["iou_by_horizon"]) == len(c["held_iou_by_horizon"]) == 16 and np.shape(c["iou_by_episode"]) == (2, 16)
    assert all(0 <= c[k] <= 1 for k in ("iou@1", "iou@16", "real_iou", "held_iou@16"))
    assert min(r["distance"], r["real_floor"], r["blurred_sigma1"], r["distance_se"]) >= 0
    assert all(s in format_metrics(m) for s in ("world consistency", "real frames (ceiling)", "realism distance",
                                                "real blurred sigma 1 px"))
    assert len(m["controllability_by_episode"]["delta_psnr@16"]) == 2

    # Comparing two reports of the same episodes: B - A per episode, with its standard error.
    same = compare_reports(read_report(tmp_path / "report"), m)
    assert "horizon 1        +0.00 ± 0.00 dB" in same and "horizon 16       +0.00 ± 0.00 dB" in same
    assert same.index("realism distance") < same.index("world consistency @16") < same.index("VAE PSNR")
    assert "world consistency @64 (IoU)" in same and "(not in both reports)" in same  # a 16-frame horizon
    better = json.loads(json.dumps(m))
    better["autoregressive"]["psnr_by_episode"] = (np.asarray(m["autoregressive"]["psnr_by_episode"]) + 1).tolist()
    better["revisiting"]["psnr_by_episode"] = [v - 0.5 for v in m["revisiting"]["psnr_by_episode"]]
    assert "horizon 4        +1.00 ± 0.00 dB" in compare_reports(m, better)
    better["consistency"]["iou_by_episode"] = (np.asarray(m["consistency"]["iou_by_episode"]) + 0.1).tolist()
    assert "+0.100 ± 0.000" in compare_reports(m, better).split("world consistency @16 (IoU)")[1].split("\n")[0]
    assert "revisiting, B - A over the same 2 episodes: -0.50 ± 0.00 dB" in compare_reports(m, better)
    better["stability"]["in_range_by_rollout"] = [[v - 0.1 for v in r] for r in m["stability"]["in_range_by_rollout"]]
    n = m["stability"]["rollouts"]
    assert f"in range, B - A over the same {n} rollouts: -10.0 ± 0.0 points" in compare_reports(m, better)
    better["autoregressive"]["psnr_by_episode"] = [c[:8] for c in better["autoregressive"]["psnr_by_episode"]]
    shorter = compare_reports(m, better)  # a shorter horizon (--quick): the horizons both have
    assert "horizon 4        +1.00 ± 0.00 dB" in shorter and "horizon 16" not in shorter
    better["config"]["seeds"] = [5, 7]
    with pytest.raises(UserError, match="different seeds"):
        compare_reports(m, better)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UserError, match="bad.json: not a metrics.json"):
        read_report(tmp_path / "bad.json")

    # Shipping: bf16 weights, the card with the measured figures, loadable again.
    from train.ship import ship
    from wm_video.world_model import WorldModel

    dest = ship(tiny_world, tmp_path / "report" / "metrics.json", "Recorded with `wm-video record`.",
                dest=tmp_path / "shipped")
    card = (dest / "README.md").read_text()
    assert "teacher-forced next frame PSNR" in card and "wm-video record" in card
    assert "against the other seeds' views" in card and "memory adds" in card  # what shipping reads revisiting by
    assert "the real game's frames:" in card  # what "in distribution" reads as
    assert WorldModel.load(dest).dit.config.width == 64
    assert str(tmp_path) not in (dest / "dit" / "config.json").read_text()  # no local paths in a shipped folder
