"""Ablation: does the previous-mask channel lower flicker? Evaluates the shipped model and the same
architecture trained without the channel (same data, budget and seed) on unseen trails, and writes
docs/prior_ablation.md and docs/prior_ablation.json.

    python bench/prior_ablation.py --data DIR [--with models/terrain_net_base.pt]
                                   [--without models/terrain_net_rgb_only.pt]

Both checkpoints come from `semloco train perception` (the second with --no-previous-mask); see
models/terrain_net.md for the commands.
"""

import argparse
import json
from pathlib import Path

from robot_perception.evaluate import evaluate

FIELDS = [("flicker", "flicker (lower is better)", "{:.4f}"), ("miou_walkable", "mIoU walkable", "{:.3f}"),
          ("pixel_accuracy", "pixel accuracy", "{:.3f}"), ("depth_abs_rel", "depth AbsRel", "{:.3f}"),
          ("depth_delta_1_25", "depth δ<1.25", "{:.3f}"), ("fps", "frames/s", "{:.0f}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--with", dest="with_prior", default="models/terrain_net_base.pt")
    parser.add_argument("--without", default="models/terrain_net_rgb_only.pt")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    results = {"with previous mask": evaluate(args.with_prior, args.data),
               "RGB only": evaluate(args.without, args.data)}
    lines = ["# Previous-mask ablation", "",
             f"Unseen validation data: `{args.data}` (dataset seed {results['RGB only']['data_seed']}, "
             f"{results['RGB only']['frames']} frames in bursts of consecutive frames). Made by "
             f"`python bench/prior_ablation.py --data {args.data} --with {args.with_prior} --without {args.without}"
             f" --out {args.out}` (models `{args.with_prior}` and `{args.without}`).", "",
             "| model | " + " | ".join(f[1] for f in FIELDS) + " |", "|---|" + "---|" * len(FIELDS)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(fmt.format(r[key]) for key, _, fmt in FIELDS) + " |")
    a, b = results["with previous mask"]["flicker"], results["RGB only"]["flicker"]
    lines += ["", f"Flicker is the share of pixels whose predicted label changes between consecutive frames "
              f"where the ground truth does not. The previous-mask channel changes it from {b:.4f} to {a:.4f} "
              f"({(a - b) / b * 100:+.0f} %)."]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "prior_ablation.md").write_text("\n".join(lines) + "\n")
    (out / "prior_ablation.json").write_text(json.dumps(
        {k: {f: v for f, v in r.items() if f != "confusion"} for k, r in results.items()}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
