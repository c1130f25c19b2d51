import json

import numpy as np
import pytest

from data_tools.dataset import DatasetError, read_episode, read_info
from data_tools.importing import Source, fit_frame, import_sources, named_actions
from data_tools.vpt import find_sources, vpt_actions
from wm_video.actions import ACTION_INDEX
from wm_video.video import write_video


def make_video(path, n, width=64, height=36):
    """Frames whose left half is red and right half blue, with a frame counter in green."""
    frames = np.zeros((n, height, width, 3), np.uint8)
    frames[:, :, : width // 2, 0] = 200
    frames[:, :, width // 2:, 2] = 200
    frames[:, :, :, 1] = np.arange(n, dtype=np.uint8)[:, None, None] * 4
    write_video(path, frames, fps=20)
    return frames


def vpt_record(keys=(), dx=0.0, dy=0.0, buttons=(), hotbar=0):
    return {"keyboard": {"keys": list(keys)}, "mouse": {"dx": dx, "dy": dy, "buttons": list(buttons)},
            "hotbar": hotbar, "isGuiOpen": False, "xpos": 1.0, "ypos": 2.0, "zpos": 3.0, "yaw": 4.0,
            "pitch": 5.0}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def vpt_folder(tmp_path):
    folder = tmp_path / "vpt"
    folder.mkdir()
    make_video(folder / "clip.mp4", 10)
    records = [vpt_record(buttons=[0]) for _ in range(3)]  # attack held since before the start
    records += [vpt_record(keys=["key.keyboard.w", "key.keyboard.f3"], dx=10, dy=-4, hotbar=2)]
    records += [vpt_record(buttons=[0, 1], hotbar=2), vpt_record(keys=["key.keyboard.space"], hotbar=2)]
    records += [vpt_record(dx=5000, hotbar=2)] * 3 + [vpt_record(buttons=[2], hotbar=2)]
    write_jsonl(folder / "clip.jsonl", records)
    return folder


def test_vpt_import_maps_keys_mouse_and_hotbar_as_vpt_does(vpt_folder, tmp_path):
    out = tmp_path / "ds"
    n = import_sources(find_sources([vpt_folder]), out, vpt_actions, source="vpt", width=32, height=32)
    assert n == 10
    info = read_info(out)
    assert (info.source, info.width, info.height, info.fps) == ("vpt", 32, 32, 20)
    ep = read_episode(out, 0)
    a = ep.actions
    assert ep.frames.shape == (10, 32, 32, 3)
    assert a[:3, ACTION_INDEX["attack"]].tolist() == [0, 0, 0]  # stuck attack ignored
    assert a[3, ACTION_INDEX["forward"]] == 1 and a[3].sum() == pytest.approx(1 + 10 * 0.15 - 4 * 0.15 + 1)
    assert a[3, ACTION_INDEX["camera.yaw"]] == pytest.approx(1.5)
    assert a[3, ACTION_INDEX["camera.pitch"]] == pytest.approx(-0.6)
    assert a[3, ACTION_INDEX["hotbar.3"]] == 1 and a[5, ACTION_INDEX["hotbar.3"]] == 0
    assert a[4, ACTION_INDEX["attack"]] == 1 and a[4, ACTION_INDEX["use"]] == 1
    assert a[5, ACTION_INDEX["jump"]] == 1
    assert a[6, ACTION_INDEX["camera.yaw"]] == 0  # a 750-degree jump is a glitch, not a turn
    assert a[9, ACTION_INDEX["pickItem"]] == 1
    np.testing.assert_allclose(ep.poses[0], [1, 2, 3, 4, 5])


def test_frames_are_center_cropped_then_resized():
    frame = np.zeros((36, 64, 3), np.uint8)
    frame[:, :14] = 255  # outside the central 36x36 square: cropped away
    out = fit_frame(frame, 32, 32)
    assert out.shape == (32, 32, 3) and out.max() == 0
    assert fit_frame(np.zeros((40, 20, 3), np.uint8), 16, 16).shape == (16, 16, 3)


def test_line_counts_within_tolerance_are_trimmed_beyond_refused(tmp_path):
    make_video(tmp_path / "a.mp4", 12)
    write_jsonl(tmp_path / "a.jsonl", [vpt_record()] * 13)
    assert import_sources(find_sources([tmp_path / "a.mp4"]), tmp_path / "ok", vpt_actions,
                          source="vpt", width=16, height=16) == 12
    write_jsonl(tmp_path / "a.jsonl", [vpt_record()] * 30)
    with pytest.raises(DatasetError, match=r"a\.jsonl: 30 action lines for 12 frames"):
        import_sources(find_sources([tmp_path / "a.mp4"]), tmp_path / "bad", vpt_actions,
                       source="vpt", width=16, height=16)
    assert not (tmp_path / "bad").exists()


def test_bad_inputs_name_the_file_and_leave_nothing_behind(tmp_path):
    make_video(tmp_path / "v.mp4", 8)
    lines = [json.dumps(vpt_record())] * 8
    lines[4] = "{not json"
    (tmp_path / "v.jsonl").write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r"v\.jsonl:5: not valid JSON"):
        import_sources(find_sources([tmp_path]), tmp_path / "out", vpt_actions, source="vpt", width=16, height=16)

    data = (tmp_path / "v.mp4").read_bytes()
    (tmp_path / "t.mp4").write_bytes(data[: len(data) // 2])
    write_jsonl(tmp_path / "t.jsonl", [vpt_record()] * 8)
    with pytest.raises(DatasetError, match=r"t\.mp4: cannot"):
        import_sources(find_sources([tmp_path / "t.mp4"]), tmp_path / "out", vpt_actions,
                       source="vpt", width=16, height=16)

    (tmp_path / "lonely.mp4").write_bytes(data)
    with pytest.raises(DatasetError, match=r"lonely\.mp4: no lonely\.jsonl beside it"):
        find_sources([tmp_path / "lonely.mp4"])
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == []  # no partial dataset


def test_import_video_reads_named_actions_and_rejects_unknown_names(tmp_path):
    make_video(tmp_path / "g.mp4", 6)
    write_jsonl(tmp_path / "g.jsonl", [{"forward": 1, "camera.yaw": 2.5}, {}, {"attack": 1}] * 2)
    src = [Source(tmp_path / "g.mp4", tmp_path / "g.jsonl")]
    import_sources(src, tmp_path / "ds", named_actions, source="video", width=16, height=16)
    ep = read_episode(tmp_path / "ds", 0)
    assert ep.actions[0, ACTION_INDEX["camera.yaw"]] == 2.5 and ep.actions[2, ACTION_INDEX["attack"]] == 1
    assert ep.poses is None

    write_jsonl(tmp_path / "g.jsonl", [{}] * 3 + [{"cameraX": 1}] + [{}] * 2)
    with pytest.raises(DatasetError, match=r"g\.jsonl:4: unknown action name 'cameraX'"):
        import_sources(src, tmp_path / "ds2", named_actions, source="video", width=16, height=16)
    with pytest.raises(DatasetError, match="already holds another dataset"):
        import_sources(src, tmp_path / "ds", named_actions, source="video", width=16, height=16)
