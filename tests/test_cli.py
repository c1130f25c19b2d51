import subprocess
import sys

from wm_video.cli import build_parser, main
from wm_video.video import iter_video


def test_help_lists_every_subcommand_with_one_line():
    out = subprocess.run([sys.executable, "-m", "wm_video.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"game", "record", "import-vpt", "import-video", "dataset-info", "preview"} <= set(commands)
    for name, sub in commands.items():
        assert name in out and sub.description.split("\n")[0][:30] in " ".join(out.split())


def test_record_info_and_preview_end_to_end(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["record", "--out", str(out), "--episodes", "2", "--frames", "8", "--size", "48x32"]) == 0
    assert "recorded 2 episodes, 16 frames" in capsys.readouterr().out
    assert main(["dataset-info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "episodes     2" in info and "48x32" in info and "camera.yaw" in info and "forward" in info
    video = tmp_path / "clip.mp4"
    assert main(["preview", str(out), "--episode", "1", "-o", str(video), "--scale", "2"]) == 0
    frames = list(iter_video(video))
    assert len(frames) == 8 and frames[0].shape == (2 * 32 + 20, 2 * 48, 3)


def test_errors_are_one_line_with_a_non_zero_exit(tmp_path, capsys):
    assert main(["dataset-info", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing" in err and "not a wm-video dataset" in err
    assert main(["import-video", str(tmp_path / "nope.mp4"), str(tmp_path / "a.jsonl"), "--out",
                 str(tmp_path / "o")]) == 1
    assert "nope.mp4: no such video file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_game_without_a_display_says_so_in_one_line():
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "wm_video.cli", "game"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "no display" in proc.stderr
