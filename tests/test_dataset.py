import signal
import subprocess
import sys
import time

import datasets
import numpy as np
import pytest

from data_tools.dataset import DatasetError, DatasetInfo, episode_indices, read_actions, read_episode, read_info
from data_tools.game import GameConfig
from data_tools.record import episode_seed, play_episode, record

from .conftest import frames_digest


def test_loads_with_datasets_in_memory_and_streaming(tiny_dataset):
    ds = datasets.load_dataset(str(tiny_dataset), split="train")
    assert ds.num_rows == 24
    assert set(ds.column_names) == {"episode_index", "frame_index", "timestamp", "image", "action", "pose"}
    row = ds[13]
    assert row["image"].size == (32, 32) and len(row["action"]) == 25 and len(row["pose"]) == 5
    stream = datasets.load_dataset(str(tiny_dataset), split="train", streaming=True)
    first = next(iter(stream))
    assert first["image"].size == (32, 32)
    assert list((tiny_dataset / "data").glob("*.parquet"))


def test_metadata_describes_the_recording(tiny_dataset):
    info = read_info(tiny_dataset)
    assert (info.source, info.fps, info.width, info.height, info.seed) == ("game", 20, 32, 32, 5)
    assert len(info.action_names) == 25 and info.game_version


def test_episode_rows_are_what_the_game_showed(tiny_dataset):
    from dataclasses import replace

    ep = read_episode(tiny_dataset, 1)
    again = play_episode(episode_seed(5, 1), 12, replace(GameConfig(), width=32, height=32))
    np.testing.assert_array_equal(ep.frames, again.frames)  # PNG is lossless
    np.testing.assert_array_equal(ep.actions, again.actions)
    np.testing.assert_allclose(ep.poses, again.poses)
    episodes, actions = read_actions(tiny_dataset)
    assert episodes.tolist() == [0] * 12 + [1] * 12 and actions.shape == (24, 25)


def test_resume_records_only_missing_episodes(tmp_path):
    root = tmp_path / "ds"
    assert record(root, episodes=1, frames=6, size=(32, 32)) == [0]
    first = (root / "data" / "episode_000000.parquet").read_bytes()
    (root / "data" / ".episode_000001.partial").write_bytes(b"cut off")  # an interrupted write
    assert record(root, episodes=3, frames=6, size=(32, 32)) == [1, 2]
    assert (root / "data" / "episode_000000.parquet").read_bytes() == first
    assert not list((root / "data").glob(".*"))
    assert episode_indices(root) == [0, 1, 2]


def test_a_killed_recording_resumes_to_the_same_dataset(tmp_path):
    root, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "wm_video.cli", "record", "--out", str(root), "--episodes", "6",
           "--frames", "40", "--size", "32"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((root / "data").glob("episode_*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = episode_indices(root)
    assert 1 <= len(kept) < 6
    subprocess.run(cmd, check=True, capture_output=True)
    record(clean, episodes=6, frames=40, size=(32, 32))
    assert episode_indices(root) == list(range(6))
    for k in range(6):
        assert frames_digest(read_episode(root, k).frames) == frames_digest(read_episode(clean, k).frames)


def test_workers_record_the_same_episodes(tmp_path):
    record(tmp_path / "one", episodes=2, frames=5, size=(32, 32), workers=1)
    record(tmp_path / "two", episodes=2, frames=5, size=(32, 32), workers=2)
    for k in range(2):
        a, b = read_episode(tmp_path / "one", k), read_episode(tmp_path / "two", k)
        np.testing.assert_array_equal(a.frames, b.frames)


def test_refuses_a_folder_holding_something_else(tmp_path, tiny_dataset):
    with pytest.raises(DatasetError, match="another dataset.*frames_per_episode"):
        record(tiny_dataset, episodes=2, frames=13, size=(32, 32), seed=5)
    with pytest.raises(DatasetError, match="another dataset.*label_classes"):  # label maps it does not hold
        record(tiny_dataset, episodes=2, frames=12, size=(32, 32), seed=5, labels=True)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        record(tmp_path, episodes=1, frames=4, size=(32, 32))
    with pytest.raises(DatasetError, match="not a wm-video dataset"):
        read_info(tmp_path)
    with pytest.raises(DatasetError, match="no episode 7"):
        read_episode(tiny_dataset, 7)


def test_a_frame_that_does_not_decode_names_the_episode_file(tmp_path, tiny_dataset):
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from data_tools.dataset import episode_paths

    root = tmp_path / "copy"
    shutil.copytree(tiny_dataset, root)
    path = episode_paths(root)[1]
    table = pq.read_table(path)
    rows = table.to_pydict()
    rows["image"][2] = {"bytes": b"not a png", "path": None}
    pq.write_table(pa.Table.from_pydict(rows, schema=table.schema), path)
    with pytest.raises(DatasetError, match=r"episode_000001\.parquet: cannot read episode \(not a decodable image\)"):
        read_episode(root, 1)
    assert read_episode(root, 0).frames.shape[0] > 0  # the others still read


def test_info_rejects_another_action_layout():
    with pytest.raises(ValueError, match="action_names"):
        DatasetInfo(source="x", fps=20, width=32, height=32, action_names=("forward",))
