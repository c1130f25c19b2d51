"""A report read back: its summary in words (``wm-video eval``) and two reports compared (``wm-video compare``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from wm_video.errors import UserError

from .judged import HORIZONS as JUDGED_HORIZONS
from .keys import BLOCK_JUDGED, BLOCK_KEYS


def mean_error(per_episode) -> np.ndarray:
    """The standard error of the mean over episodes (axis 0); zero for a single episode."""
    x = np.asarray(per_episode, dtype=np.float64)
    return x.std(axis=0, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.zeros(x.shape[1:])


def standard_error(ar: dict) -> np.ndarray:
    """Per horizon, the standard error of the mean autoregressive PSNR over episodes: how far apart
    two models must be to differ."""
    return mean_error(ar["psnr_by_episode"])


def read_report(path: str | Path) -> dict:
    """A report's metrics.json (given the file or its folder), checked to come from ``wm-video eval``."""
    path = Path(path)
    path = path / "metrics.json" if path.is_dir() else path
    try:
        m = json.loads(path.read_text())
        m["autoregressive"]["psnr_by_episode"], m["config"]["seeds"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a metrics.json from `wm-video eval` ({type(e).__name__}: {e})") from None
    return m


def memory_margin(revisiting: dict) -> str:
    """The frame after the turn against other places, and memory's margin over that ("" for a single seed)."""
    margin = revisiting.get("memory_margin_by_episode")
    if margin is None:  # one seed has no other place
        return ""
    return (f"against the other seeds' views {revisiting['psnr_against_other_places']:.2f} dB, so memory adds "
            f"{np.mean(margin):+.2f} ± {mean_error(margin):.2f} dB")


def block_key_line(following: dict, verb: str) -> str:
    presses = following[f"{verb}_presses"]
    if not presses:
        return "no press that shows on these seeds"
    return ("followed " + ", ".join(f"{following[f'{verb}_followed@{a}']:.0%} {a} frames after" for a in BLOCK_JUDGED)
            + f" the key went down ({presses} presses)")


def judged_lines(m: dict) -> list[str]:
    """World consistency and realism."""
    c, r = m["consistency"], m["realism"]
    hs = [h for h in JUDGED_HORIZONS if f"iou@{h}" in c]
    se = mean_error(c["iou_by_episode"])
    return ["  world consistency (IoU)   " + "  ".join(f"{h}: {c[f'iou@{h}']:.3f} ± {se[h - 1]:.3f}" for h in hs),
            f"    real frames (ceiling)   {c['real_iou']:.3f}",
            "    last prompt frame held  " + "  ".join(f"{h}: {c[f'held_iou@{h}']:.3f}" for h in hs),
            f"  realism distance          {r['distance']:.2f} ± {r['distance_se']:.2f} (Frechet, judge features; "
            f"{r['frames']} imagined frames)",
            f"    real vs real (floor)    {r['real_floor']:.2f};  real blurred sigma 1 px: {r['blurred_sigma1']:.2f}"]


def format_metrics(m: dict) -> str:
    ar, tf, st, af = m["autoregressive"], m["teacher_forced"], m["stability"], m["action_following"]
    horizons = [h for h in (1, 4, 16, 64) if h <= len(ar["psnr_by_horizon"])]
    sem = standard_error(ar)
    still = "  ".join(f"{h}: {ar['still_psnr_by_horizon'][h - 1]:.2f}" for h in horizons)
    margin = memory_margin(m["revisiting"])
    lines = [
        f"model {m['model']}",
        f"  VAE reconstruction        PSNR {m['vae']['psnr']:.2f} dB  SSIM {m['vae']['ssim']:.3f}",
        f"  teacher-forced next frame PSNR {tf['psnr']:.2f} dB  "
        f"SSIM {tf['ssim']:.3f}  (last frame copied: {tf['copy_last_frame_psnr']:.2f} dB)",
        "  autoregressive PSNR       " + "  ".join(f"{h}: {ar[f'psnr@{h}']:.2f} ± {sem[h - 1]:.2f}" for h in horizons),
        f"    last prompt frame held  {still}",
        *judged_lines(m),
        "  controllability           " + "  ".join(f"dPSNR@{k.split('@')[1]}: {v:+.2f} dB"
                                                     for k, v in m["controllability"].items()),
        f"  action following (IDM)    {af['idm_accuracy_imagined']:.2f} imagined vs "
        f"{af['idm_accuracy_real']:.2f} real ({af['ratio']:.0%})",
        f"    number keys             followed {af['number_keys_followed@1']:.0%} 1 frame "
        f"after the press, {af['number_keys_followed@4']:.0%} 4 frames after",
        *(f"    {f'{verb} ({key})':<24}{block_key_line(af, verb)}" for key, verb in BLOCK_KEYS.items()),
        f"  stability                 frames in the real range: {st['first_256_in_range']:.0%} of the first "
        f"{min(256, st['frames'])}, "
        f"{st['last_window_in_range']:.0%} of the last 100, {st['all_in_range']:.0%} of all {st['frames']} "
        f"({st['rollouts']} rollouts; the real game's own frames: {st['real_in_range']:.0%})",
        f"    sharpness               {st['sharpness_vs_real']:.0%} of the real frames' (median)",
        "    out of range because    " + (", ".join(f"{k} {v:.0%}" for k, v in sorted(
            st["out_of_range_because"].items(), key=lambda kv: -kv[1]) if v >= 0.01) or "-"),
        f"  revisiting                PSNR {m['revisiting']['psnr_after_360']:.2f} dB after a 360-degree turn"
        + (f"; {margin}" if margin else ""),
        f"  speed                     {m['speed']['fps']:.1f} frames/s, "
        f"p90 latency {m['speed']['latency_p90_ms']:.0f} ms "
        f"({m['speed']['compute']} on {m['speed']['cpu_capability']})",
    ]
    return "\n".join(lines)


def _paired(a: dict, b: dict, get) -> tuple[float, float, float, float, float] | None:
    """(A, se A, B, se B, se of B - A) of a per-episode figure, paired episode by episode; None past a
    report's horizon (a --quick report imagines 16 frames, a full one 64)."""
    try:
        xa, xb = np.asarray(get(a), np.float64), np.asarray(get(b), np.float64)
    except (KeyError, IndexError):
        return None
    return xa.mean(), float(mean_error(xa)), xb.mean(), float(mean_error(xb)), float(mean_error(xb - xa))


def primary_lines(a: dict, b: dict) -> list[str]:
    """The ship rule's primary scores, A and B with standard errors, and B - A with its own: realism
    distance (lower is better; B - A's error from both bootstraps, unpaired), world consistency at 16
    and 64 frames and controllability at 16 (paired over the same episodes)."""
    ra, rb = a["realism"], b["realism"]
    rows = [("realism distance (lower better)", (ra["distance"], ra["distance_se"], rb["distance"],
                                                 rb["distance_se"], float(np.hypot(ra["distance_se"],
                                                                                   rb["distance_se"]))))]
    for h in (16, 64):
        rows.append((f"world consistency @{h} (IoU)",
                     _paired(a, b, lambda m, h=h: np.asarray(m["consistency"]["iou_by_episode"])[:, h - 1])))
    rows.append(("controllability @16 (dB)", _paired(a, b, lambda m: m["controllability_by_episode"]["delta_psnr@16"])))
    lines = [f"  primary scores (± standard error){'A':>16}{'B':>16}{'B - A':>18}"]
    for name, v in rows:
        if v is None:
            lines.append(f"  {name:<34}{'(not in both reports)':>32}")
        else:
            lines.append(f"  {name:<34}{v[0]:>8.3f} ± {v[1]:<5.3f}{v[2]:>8.3f} ± {v[3]:<5.3f}"
                         f"{v[2] - v[0]:>+9.3f} ± {v[4]:.3f}")
    return lines


def compare_reports(a: dict, b: dict) -> str:
    """B against A: the ship rule's primary scores first, with standard errors, then the headline
    figures side by side, and B - A in autoregressive PSNR episode by episode (both models imagined
    the same episodes, so the difference is far less noisy than either mean), with its standard error."""
    if a["config"]["seeds"] != b["config"]["seeds"]:
        raise UserError("the reports are on different seeds; pair only reports of the same episodes")
    pa, pb = (np.asarray(m["autoregressive"]["psnr_by_episode"]) for m in (a, b))
    common = min(pa.shape[1], pb.shape[1])  # a --quick report imagines 16 frames, a full one 64
    d = pb[:, :common] - pa[:, :common]
    n, horizon = d.shape
    se = mean_error(d)

    def row(name: str, f) -> str:
        return f"  {name:<34}{f(a):>9.2f}{f(b):>9.2f}{f(b) - f(a):>+9.2f}"

    lines = [f"A {a['model']}", f"B {b['model']}", *primary_lines(a, b),
             "  guards: stability (frames in range) and frames/s below; PSNR and SSIM are reported, not a veto",
             f"  {'':<34}{'A':>9}{'B':>9}{'B - A':>9}",
             row("VAE PSNR (dB)", lambda m: m["vae"]["psnr"]),
             row("teacher-forced PSNR (dB)", lambda m: m["teacher_forced"]["psnr"]),
             *(row(f"controllability @{k.split('@')[1]} (dB)", lambda m, k=k: m["controllability"][k])
               for k in a["controllability"]),
             row("IDM accuracy, imagined / real", lambda m: m["action_following"]["ratio"]),
             row("number keys followed @4", lambda m: m["action_following"]["number_keys_followed@4"]),
             *(row(f"{verb} followed @{after}", lambda m, k=f"{verb}_followed@{after}": m["action_following"][k])
               for verb in BLOCK_KEYS.values() for after in BLOCK_JUDGED),
             row("stability, frames in range", lambda m: np.mean(m["stability"]["in_range_share_by_100_frames"])),
             row("long rollouts' sharpness / real", lambda m: m["stability"]["sharpness_vs_real"]),
             row("revisiting (dB)", lambda m: m["revisiting"]["psnr_after_360"]),
             *([row("revisiting, memory's margin (dB)", lambda m: np.mean(m["revisiting"]["memory_margin_by_episode"]))]
               if n > 1 else []),
             row("frames/s", lambda m: m["speed"]["fps"]),
             f"  autoregressive PSNR, B - A over the same {n} episodes (± standard error):"]
    for h in (1, 4, 16, 32, 64):
        if h <= horizon:
            lines.append(f"    horizon {h:<8} {d[:, h - 1].mean():+.2f} ± {se[h - 1]:.2f} dB")
    for lo, hi in ((1, 16), (17, 32), (33, 64)):
        if hi <= horizon:
            m = d[:, lo - 1:hi].mean(axis=1)
            lines.append(f"    frames {lo}-{hi:<{8 - len(str(lo))}} {m.mean():+.2f} ± {mean_error(m):.2f} dB")
    r = np.subtract(b["revisiting"]["psnr_by_episode"], a["revisiting"]["psnr_by_episode"])
    lines.append(f"  revisiting, B - A over the same {n} episodes: {r.mean():+.2f} ± {mean_error(r):.2f} dB")
    sa, sb = a["stability"], b["stability"]
    if sa["frames"] == sb["frames"] and sa["rollouts"] == sb["rollouts"]:
        # The same prompts and actions, so rollout by rollout; still noisy, as one rollout wanders by chance.
        r = 100 * (np.mean(sb["in_range_by_rollout"], axis=1) - np.mean(sa["in_range_by_rollout"], axis=1))
        lines.append(f"  long rollouts' frames in range, B - A over the same {len(r)} rollouts: "
                     f"{r.mean():+.1f} ± {mean_error(r):.1f} points")
    return "\n".join(lines)
