"""The ``wm-video`` command: the one place that wires the library, the data tools and the front ends.

Each subcommand imports what it needs when it runs, so ``wm-video --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .errors import UserError
from .precision import CHOICES, ENV, compute_precision


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


def add_rollout_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="denoising steps per frame (default: the engine's, RolloutConfig)")


def rollout_config(args: argparse.Namespace, seed: int = 0):
    """The engine's defaults (wm_video.rollout.RolloutConfig) with --steps over them."""
    from .rollout import RolloutConfig
    from .world_model import WorldModelInfo, resolve_model

    given = {} if args.steps is None else {"steps": args.steps}
    if given and WorldModelInfo.read(resolve_model(args.model)).sampler == "one_pass":
        raise UserError(f"{resolve_model(args.model)}: a one-pass model makes each frame in one pass; --steps is "
                        "for models with the Euler sampler")
    return RolloutConfig(seed=seed, **given)


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
    written = record(args.out, args.episodes, args.frames, size=args.size, seed=args.seed, workers=args.workers,
                     labels=args.labels)
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


def cmd_train_vae(args: argparse.Namespace) -> None:
    from train.configs import VAETrainConfig, load_config
    from train.train_vae import train_vae

    cfg = load_config(args.config, VAETrainConfig, steps=args.steps, batch_size=args.batch_size,
                      grad_accum=args.grad_accum, lr=args.lr, checkpoint_every=args.checkpoint_every,
                      decoder_only=args.decoder_only or None, mse_weight=args.mse_weight)
    path = train_vae(args.data, args.out, cfg, init=args.init)
    print(f"{path}: VAE saved; TensorBoard logs in {args.out}")


def cmd_encode(args: argparse.Namespace) -> None:
    from train.encode import encode_dataset

    n = encode_dataset(args.data, args.vae, args.out, workers=args.workers)
    print(f"{args.out}: encoded {n} episodes")


def cmd_eval_vae(args: argparse.Namespace) -> None:
    from train.eval_vae import evaluate_vae, format_report

    report = evaluate_vae(args.vae, args.data, args.out, max_frames=args.max_frames)
    print(format_report(report))
    print(f"report: {args.out}/report.json, side-by-side: {args.out}/sidebyside.png")


def cmd_train_judge(args: argparse.Namespace) -> None:
    from train.train_judge import JudgeTrainConfig, train_judge

    cfg = JudgeTrainConfig(steps=args.steps, batch_size=args.batch_size)
    train_judge(args.data, args.heldout, args.out, cfg, command="wm-video " + " ".join(sys.argv[1:]))
    print(f"{args.out}/judge: the judge, its card and accuracy.json")


def cmd_train(args: argparse.Namespace) -> None:
    from train.configs import load_config
    from train.train_dit import train_dit

    cfg = load_config(args.config, model=args.model, steps=args.steps, batch_size=args.batch_size,
                      grad_accum=args.grad_accum, lr=args.lr, compile=args.compile or None)
    train_dit(args.data, args.vae, args.out, cfg, init=args.init)
    print(f"{args.out}/model: playable model (EMA weights); samples in {args.out}/samples; "
          f"TensorBoard logs in {args.out}")


def cmd_train_one_pass(args: argparse.Namespace) -> None:
    from train.configs import OnePassTrainConfig, load_config
    from train.one_pass import train_one_pass

    cfg = load_config(args.config, OnePassTrainConfig, steps=args.steps, batch_size=args.batch_size, lr=args.lr)
    train_one_pass(args.data, args.init, args.out, cfg)
    print(f"{args.out}/model: playable one-pass model (EMA weights); samples in {args.out}/samples; "
          f"TensorBoard logs in {args.out}")


def cmd_train_decoder(args: argparse.Namespace) -> None:
    from train.configs import DecoderTrainConfig, load_config
    from train.train_decoder import train_decoder

    cfg = load_config(args.config, DecoderTrainConfig, steps=args.steps, batch_size=args.batch_size, lr=args.lr)
    train_decoder(args.data, args.init, args.out, cfg)
    print(f"{args.out}/model: the model with its decoder fine-tuned; samples in {args.out}/samples; "
          f"TensorBoard logs in {args.out}")


def cmd_play(args: argparse.Namespace) -> None:
    from play.background import BackgroundEnv
    from play.model_game import ModelGame, SessionRecorder
    from play.window import GameWindow, check_display
    from wm_video.world_model import WorldModel, resolve_model

    check_display(instead="`wm-video render` to write what the model imagines to a video")
    model = resolve_model(args.model)
    world = WorldModel.load(model)
    recorder = SessionRecorder(args.record, world.info.fps) if args.record else None
    env = BackgroundEnv(ModelGame(world, seed=args.seed, rollout=rollout_config(args)))
    GameWindow(env, title=f"wm-video: imagined by {model}", on_step=recorder).run()
    if recorder and (saved := recorder.save()):
        print(f"{saved}: session.mp4 + session.jsonl (wm-video import-video can read them)")


def cmd_render(args: argparse.Namespace) -> None:
    from play.render import render
    from wm_video.world_model import resolve_model

    n = render(resolve_model(args.model), args.out, prompt=args.prompt, actions=args.actions, frames=args.frames,
               compare=args.compare, upscale=args.upscale, rollout=rollout_config(args, seed=args.seed))
    print(f"{args.out}: {n} frames")


def cmd_eval(args: argparse.Namespace) -> None:
    from evaluation.report import format_metrics
    from evaluation.suite import EvalConfig, evaluate
    from wm_video.world_model import resolve_model

    cfg = EvalConfig(rollout=rollout_config(args), judge=args.judge)
    if args.seeds:
        cfg.seeds = args.seeds
    if args.quick:
        cfg.horizon, cfg.teacher_forced, cfg.stability_frames, cfg.idm_frames, cfg.idm_steps = 16, 4, 200, 200, 150
    metrics = evaluate(resolve_model(args.model), args.out, cfg)
    print(format_metrics(metrics))
    print(f"report: {args.out}/metrics.json, {args.out}/plots.png, {args.out}/long_rollouts.png, "
          f"{args.out}/number_keys.png, {args.out}/place_break.png, {args.out}/real_vs_imagined.mp4")


def cmd_compare(args: argparse.Namespace) -> None:
    from evaluation.report import compare_reports, read_report

    print(compare_reports(read_report(args.a), read_report(args.b)))


def cmd_realism(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from data_tools.dataset import atomic_write
    from evaluation.judged import realism_of_videos, reference_floor, reference_frames
    from wm_video.judge import load_judge

    judge = load_judge(args.judge)
    reference = reference_frames(args.reference)
    scores = realism_of_videos(judge, args.videos, reference)
    floor = reference_floor(judge, reference)
    print(f"reference {args.reference}: {len(reference)} frames; its two halves score {floor:.2f} against each other "
          "(the floor; every distance grows as the sets shrink)")
    for video, s in scores.items():
        print(f"{video}: realism distance {s['realism_distance']:.2f}, sharpness {s['sharpness']:.0%} of the "
              f"reference's ({s['frames']} frames)")
    if args.json:
        atomic_write(Path(args.json), json.dumps({v: {k: s[k] for k in ("realism_distance", "sharpness")}
                                                  for v, s in scores.items()}, indent=2))
        print(f"{args.json}: written")


def cmd_ship(args: argparse.Namespace) -> None:
    from pathlib import Path

    from train.ship import ship

    dest = ship(args.model, args.metrics, Path(args.history).read_text())
    print(f"{dest}: shipped (bf16) with its model card; commit it only if `wm-video eval` shows it is better")


# -- parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wm-video", description="Interactive video world models of Minecraft-like games.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, help: str, computes: str | None = None) -> argparse.ArgumentParser:
        """``computes``: where the command computes, "cpu" (the world-model session), "device" (a GPU if
        any), or "trainer" (accelerate's device; the trainer names its choice); it then takes --precision."""
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func, computes=computes)
        if computes:
            p.add_argument("--precision", choices=CHOICES, help=f"compute dtype (default auto: bf16 where this "
                           f"machine has it natively, else fp32; also the {ENV} environment variable)")
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
    p.add_argument("--labels", action="store_true",
                   help="also record each frame's label map (block, water, sky or HUD per pixel): "
                        "what `train-judge` learns from")

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

    p = command("train-vae", cmd_train_vae, "train the frame VAE (resumes from --out; accelerate launch for GPUs)",
                computes="trainer")
    p.add_argument("--data", required=True, help="image dataset (from record or an importer)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, TensorBoard logs, the VAE in OUT/vae")
    p.add_argument("--config", help="YAML or JSON file of training settings (VAETrainConfig in train/configs.py)")
    p.add_argument("--steps", type=int, help="default 4000")
    p.add_argument("--batch-size", type=int, help="frames per process and micro-batch (default 16)")
    p.add_argument("--grad-accum", type=int, help="micro-batches per optimizer step (default 1)")
    p.add_argument("--lr", type=float, help="default 4e-4")
    p.add_argument("--checkpoint-every", type=int, help="default 250")
    p.add_argument("--init", help="start from these VAE weights (a saved VAE folder) instead of scratch")
    p.add_argument("--decoder-only", action="store_true",
                   help="train only the decoder of --init: its latents, and a DiT trained on them, stay valid")
    p.add_argument("--mse-weight", type=float,
                   help="weight of the squared error beside L1 and the image-gradient L1 (default 1; PSNR follows "
                        "it; the shipped decoder was fine-tuned with 30, docs/training.md)")

    p = command("encode", cmd_encode, "encode an image dataset into a latent dataset with a trained VAE",
                computes="device")
    p.add_argument("--data", required=True)
    p.add_argument("--vae", required=True, help="a saved VAE folder (e.g. RUN/vae)")
    p.add_argument("--out", required=True, help="latent dataset folder (resumes one made by the same VAE)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes reading, encoding and writing episodes side by side (on a GPU machine: ~8)")

    p = command("eval-vae", cmd_eval_vae, "measure a VAE: PSNR, SSIM, speed, compression, side-by-side image",
                computes="cpu")
    p.add_argument("--vae", required=True)
    p.add_argument("--data", required=True, help="held-out image dataset")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--max-frames", type=int, default=512)

    p = command("train-judge", cmd_train_judge, "train the frame judge (per-pixel labels) that eval and "
                "realism score frames with, on a `record --labels` dataset")
    p.add_argument("--data", required=True, help="dataset recorded with `record --labels`")
    p.add_argument("--heldout", required=True, help="another such dataset, of other seeds: the card's accuracy")
    p.add_argument("--out", required=True, help="run folder: OUT/checkpoint (resumed), the judge in OUT/judge")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=16, help="random 64x64 crops per step")

    p = command("train", cmd_train, "train the dynamics model on a latent dataset (resumes; accelerate launch)",
                computes="trainer")
    p.add_argument("--data", required=True, help="latent dataset (from encode)")
    p.add_argument("--vae", required=True, help="the VAE that made the latents; it is bundled with the model")
    p.add_argument("--out", required=True, help="run folder: checkpoints, logs, samples, the model in OUT/model")
    p.add_argument("--config", help="YAML or JSON file of training settings (train/configs.py)")
    p.add_argument("--model", help="model size: tiny, small, default")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--grad-accum", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model (a little faster, after a minute compiling; docs/performance.md)")
    p.add_argument("--init", help="start from these DiT weights (e.g. MODEL/dit) instead of scratch")

    p = command("train-one-pass", cmd_train_one_pass, "make a model play in one DiT pass per frame: distil it, then "
                "train it adversarially on its own rollouts (resumes; accelerate launch)", computes="trainer")
    p.add_argument("--config", required=True,
                   help="the stage's settings: train/one_pass_distill.yaml, then train/one_pass_adversarial.yaml")
    p.add_argument("--data", required=True, help="latent dataset (from encode, with the model's VAE)")
    p.add_argument("--init", required=True, help="model folder to start from: an Euler-sampler model to distil "
                   "(e.g. wm_video/pretrained/default), or the distilled one for the adversarial stage")
    p.add_argument("--out", required=True, help="run folder: checkpoints, logs, samples, the model in OUT/model")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)

    p = command("train-decoder", cmd_train_decoder, "sharpen a world model's decoder against a patch "
                "discriminator, on real codes and the model's own guesses (resumes; accelerate launch)",
                computes="trainer")
    p.add_argument("--config", required=True, help="its settings: train/decoder_adversarial.yaml")
    p.add_argument("--data", required=True, help="latent dataset (from encode, with the model's VAE; the frames it "
                   "was encoded from must still be where they were)")
    p.add_argument("--init", required=True, help="the model folder whose decoder to fine-tune")
    p.add_argument("--out", required=True, help="run folder: checkpoints, logs, samples, the model in OUT/model")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)

    p = command("play", cmd_play, "play a world model in a window: your keys, its imagined frames", computes="cpu")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the real game that prompts it; R takes the next")
    add_rollout_args(p)
    p.add_argument("--record", help="save the session to this folder as mp4 + actions jsonl")

    p = command("render", cmd_render, "write a rollout to a video (mp4 or gif), optionally beside the real game",
                computes="cpu")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--out", required=True, help="FILE.mp4 or FILE.gif")
    p.add_argument("--actions", help="JSON lines of actions, one object per frame (import-video's format); "
                   "without it the scripted explorer plays the real game")
    p.add_argument("--frames", type=int, default=200, help="frames to imagine after the prompt")
    p.add_argument("--prompt", default="game:0", help="game:SEED, dataset:DIR:EPISODE or VIDEO.mp4")
    p.add_argument("--compare", action="store_true", help="put the real game beside, under the same actions")
    p.add_argument("--upscale", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    add_rollout_args(p)

    p = command("eval", cmd_eval, "measure a world model against the real game on held-out seeds", computes="cpu")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--out", required=True, help="report folder: metrics.json, plots.png, long_rollouts.png, "
                   "number_keys.png, place_break.png, real_vs_imagined.mp4")
    p.add_argument("--seeds", type=int, nargs="+", help="game seeds (default: 9001-9016, never trained on)")
    add_rollout_args(p)
    p.add_argument("--quick", action="store_true", help="shorter horizons and rollouts, for a first look")
    p.add_argument("--judge", help="FrameJudge folder for world consistency and realism (default: the shipped one)")

    p = command("compare", cmd_compare, "two eval reports of the same seeds side by side, and B - A episode by episode")
    p.add_argument("a", help="report folder (or its metrics.json) of model A, e.g. the shipped model's")
    p.add_argument("b", help="report folder of model B, evaluated on the same seeds")

    p = command("realism", cmd_realism, "score videos' realism (the judge's Frechet distance) and sharpness "
                "against a dataset's frames")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="mp4 or gif files; frames are resized to the "
                   "reference's size")
    p.add_argument("--reference", required=True, help="dataset folder whose frames are the real reference "
                   "(up to 2,000, spread over its episodes)")
    p.add_argument("--json", help='write {VIDEO: {"realism_distance": D, "sharpness": S}} to this file; sharpness '
                   "is the median brightness step between neighbouring pixels, video / reference")
    p.add_argument("--judge", help="FrameJudge folder (default: the shipped one)")

    p = command("ship", cmd_ship, "make a trained model the repository's default (bf16, with a model card)")
    p.add_argument("--model", required=True)
    p.add_argument("--metrics", required=True, help="metrics.json from `wm-video eval` of this model")
    p.add_argument("--history", required=True, help="markdown file: data, commands, steps, wall time, hardware")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "precision", None):
        os.environ[ENV] = args.precision  # worker processes and accelerate's see it too
    try:
        if args.computes in ("cpu", "device"):
            print(compute_precision("cpu" if args.computes == "cpu" else None), flush=True)
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
