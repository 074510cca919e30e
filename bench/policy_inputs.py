"""Which inputs the speed policy needs: (a) the semantic vector only, (b) plus the corridor's depth
summary, (c) plus the inferred ground pose, (d) all three; trained identically on the same
demonstrations, then judged offline on test demonstrations and closed loop on trails.

1. Trains the four variants (`locomotion.speed_training.train_speed_policy`, the same config and
   seed; only ``inputs`` differs) on --demos (pairs with pose and depth: `semloco demos
   --ground-pose-model`). The validation episodes of --demos choose each variant's epoch.
2. Offline report: each variant's per-frame error on --test-demos (recorded with another seed; it
   chooses nothing), on all frames and on sloped frames (inferred slope >= 3 deg).
3. Closed loop report: each variant (learned) and the demonstrator on ground truth (oracle) on
   --trails x --seeds through the `semloco sweep` runner (Ray tasks, one CPU each). Per run: falls,
   completion, average speed, and the per-segment error of the commanded speed against the
   oracle's on the same trail and seed (mean over the segments, over the sloped ones, the largest).
   Default trails: ``hills`` and two sloped trails no model saw and nothing was chosen on
   (``ridge``, ``valley``; the demonstrations are random trails).

Writes docs/policy_inputs.json (every figure and run report) and docs/policy_inputs.md (the tables);
prints the tables. Finished runs are kept in --out/runs (a killed bench started again skips them),
the variants' checkpoints and cards in --out/models.

    python bench/policy_inputs.py --demos DATA/demos_hills --test-demos DATA/demos_test
        [--trails hills ridge valley] [--seeds 0 1 2] [--workers 2] [--address ADDR] [--out out/policy_inputs]

About 40 minutes on the 2-core VM (training 4 x ~30 s, 45 trail runs of 70-90 m).
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semantic_locomotion.sweep import (RaySession, SweepFailed, SweepGrid, SweepInputError, run_sweep,  # noqa: E402
                                       validate_grid)
from semantic_locomotion.trail_table import segment_speed_errors  # noqa: E402

VARIANTS = {"a": ("semantic",), "b": ("semantic", "depth"), "c": ("semantic", "pose"),
            "d": ("semantic", "depth", "pose")}


def variant_name(letter: str) -> str:
    return f"({letter}) " + " + ".join(VARIANTS[letter])


def train_variants(demos: Path, models: Path, epochs: int) -> dict:
    from locomotion.speed_training import SpeedTrainingConfig, train_speed_policy
    from semantic_locomotion.demos import DemoPairs

    pairs = DemoPairs.load(demos)
    out = {}
    for letter, inputs in VARIANTS.items():
        path = models / f"speed_{letter}.pt"
        report = train_speed_policy(pairs, path, SpeedTrainingConfig(epochs=epochs, inputs=inputs),
                                    f"python bench/policy_inputs.py (variant {letter})", progress=False)
        out[letter] = {"checkpoint": str(path), "inputs": list(inputs), "best_epoch": report["best_epoch"],
                       "validation_mae_mps": report["val_mae_mps"],
                       "validation_episodes": report["validation_episodes"],
                       "demo_minutes": report["demo_minutes"], "sha256": report["sha256"]}
        print(f"{variant_name(letter)}: validation MAE {report['val_mae_mps']:.3f} m/s (epoch {report['best_epoch']})")
    return out


def offline_report(variants: dict, test_demos: Path) -> dict:
    from locomotion.speed_policy import load_speed_policy
    from locomotion.speed_training import evaluate_speed_policy
    from semantic_locomotion.demos import DemoPairs

    pairs = DemoPairs.load(test_demos)
    out = {}
    for letter, info in variants.items():
        net, header = load_speed_policy(info["checkpoint"])
        report = evaluate_speed_policy(net, pairs, header["perception_sha256"], tuple(header["inputs"]))
        out[letter] = {"test_mae_mps": report["mae_mps"], "test_sloped_mae_mps": report["sloped"]["mae_mps"],
                       "test_sloped_frames": report["sloped"]["frames"],
                       "test_level_mae_mps": report["level"]["mae_mps"],
                       "test_frames": report["pairs"], "test_episodes": report["episodes"]}
    return out


def closed_loop(variants: dict, trails: list[str], seeds: list[int], runs_dir: Path, workers: int,
                address: str | None) -> list[dict]:
    models = tuple(info["checkpoint"] for info in variants.values())
    grid = SweepGrid(tuple(trails), ("learned", "oracle"), tuple(seeds), models)
    validate_grid(grid)
    specs = grid.runs()
    cluster = address or os.environ.get("RAY_ADDRESS")
    with RaySession(address, None if cluster else workers):
        reports = run_sweep(specs, runs_dir)
    letter_of = {info["checkpoint"]: letter for letter, info in variants.items()}
    return [{**report, "variant": letter_of.get(spec.speed_model, "oracle")} for spec, report in zip(specs, reports)]


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def closed_loop_rows(runs: list[dict]) -> list[dict]:
    """One row per trail x variant over the seeds; speed errors against the oracle's same trail and seed."""
    oracle = {(r["trail"], r["seed"]): r for r in runs if r["variant"] == "oracle"}
    rows = []
    for trail in dict.fromkeys(r["trail"] for r in runs):
        for letter in [*VARIANTS, "oracle"]:
            mine = [r for r in runs if r["trail"] == trail and r["variant"] == letter]
            if not mine:
                continue
            errors = [segment_speed_errors(r, oracle[(trail, r["seed"])]) for r in mine if letter != "oracle"]
            reference = [oracle[(trail, r["seed"])]["avg_speed_mps"] for r in mine]
            rows.append({
                "trail": trail, "variant": letter, "runs": len(mine),
                "completed": sum(r["completed"] for r in mine), "falls": sum(r["falls"] for r in mine),
                "end_reasons": sorted({r["end_reason"] for r in mine}),
                "avg_speed_mps": mean(r["avg_speed_mps"] for r in mine),
                "speed_vs_oracle": float(np.mean([r["avg_speed_mps"] for r in mine]) / np.mean(reference)),
                "segment_error_mps": mean(e["mean_mps"] for e in errors),
                "sloped_segment_error_mps": mean(e["sloped_mean_mps"] for e in errors),
                "max_segment_error_mps": max((e["max_mps"] for e in errors), default=None),
                "max_segment_error_at": max(errors, key=lambda e: e["max_mps"])["max_at"] if errors else "",
            })
    return rows


def fmt(value, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def tables(variants: dict, offline: dict, rows: list[dict]) -> str:
    lines = ["Offline (test demonstrations, never used to choose anything; per-frame MAE of the speed, m/s):", "",
             "| inputs | validation MAE (chose the epoch) | test MAE | test MAE, sloped frames | test MAE, level |",
             "|---|---|---|---|---|"]
    for letter, info in variants.items():
        o = offline[letter]
        lines.append(f"| {variant_name(letter)} | {fmt(info['validation_mae_mps'])} | {fmt(o['test_mae_mps'])} | "
                     f"{fmt(o['test_sloped_mae_mps'])} | {fmt(o['test_level_mae_mps'])} |")
    lines += ["", "Closed loop (per-segment error: |mean commanded speed - the oracle's| on the same trail and seed, "
              "averaged over segments, then over seeds):", "",
              "| trail | inputs | completed | falls | avg speed (m/s) | vs oracle | segment error | on slopes | "
              "largest (where) |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        name = "oracle (demonstrator, ground truth)" if row["variant"] == "oracle" else variant_name(row["variant"])
        lines.append(f"| {row['trail']} | {name} | {row['completed']}/{row['runs']} | {row['falls']} | "
                     f"{fmt(row['avg_speed_mps'], '.2f')} | {fmt(row['speed_vs_oracle'], '.1%')} | "
                     f"{fmt(row['segment_error_mps'])} | {fmt(row['sloped_segment_error_mps'])} | "
                     f"{fmt(row['max_segment_error_mps'], '.2f')} ({row['max_segment_error_at'] or '-'}) |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demos", required=True, help="training pairs (with pose and depth) or their folder")
    parser.add_argument("--test-demos", required=True, help="test pairs, recorded with another seed")
    parser.add_argument("--trails", nargs="+", default=["hills", "ridge", "valley"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--address", help="Ray cluster to run on (default: RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--out", default=str(ROOT / "out" / "policy_inputs"), help="models/ and runs/ go here")
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    args = parser.parse_args()
    out, docs = Path(args.out), Path(args.docs)
    try:
        variants = train_variants(Path(args.demos), out / "models", args.epochs)
        offline = offline_report(variants, Path(args.test_demos))
        runs = closed_loop(variants, args.trails, args.seeds, out / "runs", args.workers, args.address)
    except (SweepInputError, ValueError, OSError) as exc:
        print(f"policy_inputs: {exc}", file=sys.stderr)
        return 2
    except SweepFailed as exc:
        print(f"policy_inputs: {exc}", file=sys.stderr)
        return 1
    rows = closed_loop_rows(runs)
    page = tables(variants, offline, rows)
    command = "python bench/policy_inputs.py " + " ".join(sys.argv[1:])
    (docs / "policy_inputs.json").write_text(json.dumps(
        {"command": command, "variants": variants, "offline": offline, "closed_loop": rows,
         "runs": runs}, indent=1) + "\n")
    (docs / "policy_inputs.md").write_text(f"# Speed-policy inputs: ablation\n\n`{command}`\n\n{page}\n")
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
