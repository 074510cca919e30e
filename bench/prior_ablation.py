"""Ablation: does the previous-mask channel lower flicker? Evaluates a model with the channel and the
same architecture trained without it (same data, budget and seed) on unseen trails, and writes
OUT/prior_ablation.md and OUT/prior_ablation.json.

    python bench/prior_ablation.py --data DIR [DIR ...] [--with models/terrain_net_base.pt]
                                   [--without models/terrain_net_rgb_only.pt] [--out docs]

Both checkpoints come from `semloco train perception` (the second with --no-previous-mask); see
models/terrain_net.md for the commands. Each dataset is evaluated on its own and pooled. The
uncertainty of the flicker ratio comes from a paired bootstrap over sequences (whole bursts of
consecutive frames are resampled, the same ones for both models), since neighbouring frames of a
burst are not independent.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from robot_perception.evaluate import evaluate

FIELDS = [("flicker", "flicker (lower is better)", "{:.4f}"), ("miou_walkable", "mIoU walkable", "{:.3f}"),
          ("pixel_accuracy", "pixel accuracy", "{:.3f}"), ("depth_abs_rel", "depth AbsRel", "{:.3f}"),
          ("depth_delta_1_25", "depth δ<1.25", "{:.3f}"), ("fps", "frames/s", "{:.0f}")]
ARMS = ("with previous mask", "RGB only")


def paired_flicker_ratio(with_counts: np.ndarray, without_counts: np.ndarray, resamples: int = 5000,
                         seed: int = 0) -> dict:
    """Flicker(with) / flicker(without) and its 95 % paired bootstrap interval over sequences.

    ``*_counts`` are (S, 2) arrays of [changed, stable] pixel counts per sequence, in the same order."""
    rng = np.random.default_rng(seed)
    def flicker(c: np.ndarray) -> np.ndarray:  # over the last-but-one axis: sequences
        return c[..., 0].sum(-1) / np.maximum(c[..., 1].sum(-1), 1)

    ratio = flicker(with_counts) / flicker(without_counts)
    pick = rng.integers(0, len(with_counts), size=(resamples, len(with_counts)))
    boot = flicker(with_counts[pick]) / np.maximum(flicker(without_counts[pick]), 1e-12)
    low, high = np.percentile(boot, [2.5, 97.5])
    return {"ratio": float(ratio), "ci95": [float(low), float(high)], "share_below_1": float(np.mean(boot < 1.0)),
            "sequences": len(with_counts)}


def sequence_counts(result: dict) -> np.ndarray:
    """(S, 2) [changed, stable] pixel counts of an evaluation's sequences, in sequence order."""
    per_sequence = result["flicker_per_sequence"]
    return np.array([per_sequence[k] for k in sorted(per_sequence, key=int)], float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, nargs="+")
    parser.add_argument("--with", dest="with_prior", default="models/terrain_net_base.pt")
    parser.add_argument("--without", default="models/terrain_net_rgb_only.pt")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    results = {data: {ARMS[0]: evaluate(args.with_prior, data), ARMS[1]: evaluate(args.without, data)}
               for data in args.data}
    command = (f"python bench/prior_ablation.py --data {' '.join(args.data)} --with {args.with_prior} "
               f"--without {args.without} --out {args.out}")
    lines = ["# Previous-mask ablation", "",
             f"Made by `{command}`: the model with the previous-mask channel (`{args.with_prior}`) against the same",
             f"architecture, data and budget without it (`{args.without}`), on unseen trails.", "",
             "| data | model | " + " | ".join(f[1] for f in FIELDS) + " |", "|---|---|" + "---|" * len(FIELDS)]
    counts = {data: [sequence_counts(by_arm[arm]) for arm in ARMS] for data, by_arm in results.items()}
    for data, by_arm in results.items():
        card = by_arm[ARMS[1]]
        label = f"`{data}` (seed {card['data_seed']}, {card['frames']} frames)"
        for arm, r in by_arm.items():
            lines.append(f"| {label} | {arm} | " + " | ".join(fmt.format(r[key]) for key, _, fmt in FIELDS) + " |")
    stats = {data: paired_flicker_ratio(*pair) for data, pair in counts.items()}
    stats["pooled"] = paired_flicker_ratio(*(np.concatenate([pair[k] for pair in counts.values()]) for k in (0, 1)))
    lines += ["", "Flicker is the share of pixels whose predicted label changes between consecutive frames where the "
              "ground truth does not.", "",
              "| data | flicker with / without the channel | 95 % interval (paired bootstrap over sequences) | "
              "bootstrap share below 1 | sequences |", "|---|---|---|---|---|"]
    for data, st in stats.items():
        lines.append(f"| {data} | {st['ratio']:.3f} | {st['ci95'][0]:.3f} – {st['ci95'][1]:.3f} | "
                     f"{st['share_below_1']:.2f} | {st['sequences']} |")
    verdict = stats["pooled"]
    if verdict["ci95"][1] < 1.0:
        text = "the channel lowers flicker, and the whole interval is below 1"
    elif verdict["ci95"][0] > 1.0:
        text = "the channel raises flicker, and the whole interval is above 1"
    else:
        text = "the interval contains 1: this comparison does not settle whether the channel lowers flicker"
    lines += ["", f"Pooled over all datasets: ratio {verdict['ratio']:.3f} ({text}). This is one trained model per "
              "arm: the interval covers the choice of validation trails, not the training seed."]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "prior_ablation.md").write_text("\n".join(lines) + "\n")
    (out / "prior_ablation.json").write_text(json.dumps(
        {"command": command, "flicker_ratio": stats,
         "results": {d: {k: {f: v for f, v in r.items() if f != "confusion"} for k, r in by_arm.items()}
                     for d, by_arm in results.items()}}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
