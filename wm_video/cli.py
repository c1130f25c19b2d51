"""The ``wm-video`` command: the one place that wires the library, the data tools and the front ends.

Each subcommand imports what it needs when it runs, so ``wm-video --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
import time

from .errors import UserError


def _size(text: str) -> tuple[int, int]:
    """``128`` -> (128, 128); ``160x96`` -> (160, 96) as (width, height)."""
    try:
        w, _, h = text.lower().partition("x")
        size = (int(w), int(h or w))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N or WxH, got {text!r}") from None
    if min(size) < 16:
        raise argparse.ArgumentTypeError(f"size must be at least 16x16, got {text!r}")
    return size


# -- commands ---------------------------------------------------------------------------------

def cmd_game(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from data_tools.game import FPS, Game, GameConfig
    from play.window import GameWindow, check_display

    check_display()
    game = Game(args.seed, replace(GameConfig(), width=args.size[0], height=args.size[1]))
    GameWindow(game, title=f"wm-video: the built-in game (seed {args.seed})", fps=FPS).run()


def cmd_record(args: argparse.Namespace) -> None:
    from data_tools.dataset import episode_indices
    from data_tools.record import record

    start = time.perf_counter()
    written = record(args.out, args.episodes, args.frames, size=args.size, seed=args.seed, workers=args.workers)
    seconds = time.perf_counter() - start
    frames = len(written) * args.frames
    print(f"{args.out}: recorded {len(written)} episodes, {frames} frames in {seconds:.1f} s "
          f"({frames / max(seconds, 1e-9):.0f} frames/s); {len(episode_indices(args.out))} episodes in all")


def cmd_import_vpt(args: argparse.Namespace) -> None:
    from data_tools.importing import import_sources
    from data_tools.vpt import find_sources, vpt_actions

    n = import_sources(find_sources(args.src), args.out, vpt_actions, source="vpt",
                       width=args.size[0], height=args.size[1])
    print(f"{args.out}: imported {n} frames")


def cmd_import_video(args: argparse.Namespace) -> None:
    from pathlib import Path

    from data_tools.importing import Source, import_sources, named_actions

    n = import_sources([Source(Path(args.video), Path(args.actions))], args.out, named_actions,
                       source="video", width=args.size[0], height=args.size[1])
    print(f"{args.out}: imported {n} frames")


def cmd_dataset_info(args: argparse.Namespace) -> None:
    from data_tools.summary import summarize

    print(summarize(args.dir))


def cmd_preview(args: argparse.Namespace) -> None:
    from data_tools.preview import preview

    n = preview(args.dir, args.episode, args.output, scale=args.scale)
    print(f"{args.output}: {n} frames")


# -- parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wm-video", description="Interactive video world models of Minecraft-like games.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = command("game", cmd_game, "play the built-in Minecraft-like game in a window")
    p.add_argument("--seed", type=int, default=0, help="world seed")
    p.add_argument("--size", type=_size, default=(128, 128), help="frame size, N or WxH (default 128)")

    p = command("record", cmd_record, "record the scripted player in the built-in game into a dataset")
    p.add_argument("--out", required=True, help="dataset folder (resumes a recording already there)")
    p.add_argument("--episodes", type=int, required=True)
    p.add_argument("--frames", type=int, required=True, help="frames per episode (20 per second)")
    p.add_argument("--size", type=_size, default=(128, 128), help="frame size, N or WxH (default 128)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed; each episode's world derives from it")
    p.add_argument("--workers", type=int, default=1, help="processes recording in parallel")

    p = command("import-vpt", cmd_import_vpt, "import OpenAI VPT / MineRL recordings (NAME.mp4 + NAME.jsonl)")
    p.add_argument("src", nargs="+", help="NAME.mp4 files or folders of them")
    p.add_argument("--out", required=True, help="new dataset folder")
    p.add_argument("--size", type=_size, default=(128, 128), help="frame size, N or WxH (default 128)")

    p = command("import-video", cmd_import_video, "import any game's video with per-frame actions (JSON lines)")
    p.add_argument("video", help="the video file")
    p.add_argument("actions", help="JSON lines, one object per frame naming actions, e.g. {\"forward\": 1}")
    p.add_argument("--out", required=True, help="new dataset folder")
    p.add_argument("--size", type=_size, default=(128, 128), help="frame size, N or WxH (default 128)")

    p = command("dataset-info", cmd_dataset_info, "print a dataset's episodes, frames, size and action histogram")
    p.add_argument("dir")

    p = command("preview", cmd_preview, "write one episode of a dataset as an mp4 with its actions")
    p.add_argument("dir")
    p.add_argument("--episode", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="video file (.mp4)")
    p.add_argument("--scale", type=int, default=4, help="upscaling factor (default 4)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as e:
        print(f"wm-video {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"wm-video {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
