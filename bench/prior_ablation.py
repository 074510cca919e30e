"""Ablation: does the previous-mask channel lower flicker? Evaluates a model with the channel and the
same architecture trained without it (same data, budget and seed) on unseen trails, and writes
OUT/prior_ablation.md and OUT/prior_ablation.json.

    python bench/prior_ablation.py --data DIR [DIR ...] [--with models/terrain_net_base.pt [...]]
                                   [--without models/terrain_net_rgb_only.pt [...]] [--out docs]

With several checkpoints per arm (one per training seed, paired in order) the arm's flicker is
summed over its models and each seed's pair is also reported on its own.

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
    parser.add_argument("--with", dest="with_prior", nargs="+", default=["models/terrain_net_base.pt"],
                        help="one checkpoint per training seed")
    parser.add_argument("--without", nargs="+", default=["models/terrain_net_rgb_only.pt"],
                        help="one checkpoint per training seed, in the same order as --with")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    if len(args.with_prior) != len(args.without):
        raise SystemExit("--with and --without: give the same number of checkpoints (one per training seed)")
    models = {ARMS[0]: args.with_prior, ARMS[1]: args.without}
    results = {data: {arm: [evaluate(m, data) for m in paths] for arm, paths in models.items()} for data in args.data}
    command = (f"python bench/prior_ablation.py --data {' '.join(args.data)} --with {' '.join(args.with_prior)} "
               f"--without {' '.join(args.without)} --out {args.out}")
    seeds = len(args.with_prior)
    lines = ["# Previous-mask ablation", "",
             f"Made by `{command}`: the model with the previous-mask channel against the same architecture, data "
             f"and budget without it, on unseen trails; {seeds} trained model{'s' if seeds > 1 else ''} per arm "
             "(one per training seed).", "",
             "| data | model | checkpoint | " + " | ".join(f[1] for f in FIELDS) + " |",
             "|---|---|---|" + "---|" * len(FIELDS)]
    # per arm, the sequences' [changed, stable] counts summed over its models: the arm's flicker over seeds
    counts = {data: [sum(sequence_counts(r) for r in by_arm[arm]) for arm in ARMS] for data, by_arm in results.items()}
    for data, by_arm in results.items():
        card = by_arm[ARMS[1]][0]
        label = f"`{data}` (seed {card['data_seed']}, {card['frames']} frames)"
        for arm, runs in by_arm.items():
            for path, r in zip(models[arm], runs):
                lines.append(f"| {label} | {arm} | `{Path(path).name}` | "
                             + " | ".join(fmt.format(r[key]) for key, _, fmt in FIELDS) + " |")
    stats = {data: paired_flicker_ratio(*pair) for data, pair in counts.items()}
    stats["pooled"] = paired_flicker_ratio(*(np.concatenate([pair[k] for pair in counts.values()]) for k in (0, 1)))
    lines += ["", "Flicker is the share of pixels whose predicted label changes between consecutive frames where the "
              "ground truth does not.", "",
              "| data | flicker with / without the channel | 95 % interval (paired bootstrap over sequences) | "
              "bootstrap share below 1 | sequences |", "|---|---|---|---|---|"]
    for data, st in stats.items():
        lines.append(f"| {data} | {st['ratio']:.3f} | {st['ci95'][0]:.3f} – {st['ci95'][1]:.3f} | "
                     f"{st['share_below_1']:.2f} | {st['sequences']} |")
    per_seed = []
    if seeds > 1:  # each training seed's pair on its own, pooled over the datasets
        for i in range(seeds):
            pair = [np.concatenate([sequence_counts(results[d][arm][i]) for d in args.data]) for arm in ARMS]
            per_seed.append(paired_flicker_ratio(*pair))
        lines += ["", "Per training seed (pooled over the datasets): " + "; ".join(
            f"`{Path(w).name}` / `{Path(wo).name}` {st['ratio']:.3f} ({st['ci95'][0]:.3f} – {st['ci95'][1]:.3f})"
            for w, wo, st in zip(args.with_prior, args.without, per_seed)) + "."]
    verdict = stats["pooled"]
    if verdict["ci95"][1] < 1.0:
        text = "the channel lowers flicker, and the whole interval is below 1"
    elif verdict["ci95"][0] > 1.0:
        text = "the channel raises flicker, and the whole interval is above 1"
    else:
        text = "the interval contains 1: this comparison does not settle whether the channel lowers flicker"
    scope = ("one trained model per arm: the interval covers the choice of validation trails, not the training seed"
             if seeds == 1 else f"{seeds} training seeds per arm, their flicker counts summed: the interval covers "
             "the choice of validation trails; the per-seed ratios above show the training seeds' spread")
    lines += ["", f"Pooled over all datasets: ratio {verdict['ratio']:.3f} ({text}). This is {scope}."]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "prior_ablation.md").write_text("\n".join(lines) + "\n")
    (out / "prior_ablation.json").write_text(json.dumps(
        {"command": command, "flicker_ratio": stats, "per_seed_flicker_ratio": per_seed,
         "results": {d: {arm: [{f: v for f, v in r.items() if f != "confusion"} for r in runs]
                         for arm, runs in by_arm.items()} for d, by_arm in results.items()}}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
