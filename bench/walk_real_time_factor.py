"""Real-time factor of `semloco walk` headless (simulated seconds per wall-clock second).

Runs the CLI as a user would: `semloco walk --speed V --duration 15 --gait trot`, at 1.0 and
1.5 m/s (the issue-12 measurement), each speed `--runs` times, on the current code and, with
`--baseline REF`, on a git worktree of REF in alternation (new, ref, new, ref, ...). The figure is
the report's `real_time_factor`: simulated time (stand-up included) over the wall time of the
run's loop, i.e. without the process start and model loading. Prints each run, the medians per
speed and tree and their ratio, and writes the JSON (default docs/walk_real_time_factor.json).

Targets: with --baseline, the new code's median at every speed >= 3x the reference's; physics and
control at 500 Hz and the MPC at 100 Hz (as the child's own config loaders give them, and at least
100 MPC solves per walking second in every run); no fall.

    python bench/walk_real_time_factor.py [--baseline b750309] [--runs 3] [--duration 15] [--speeds 1.0 1.5]
"""

import argparse
import json
import tempfile
from pathlib import Path

import baseline as bl

RATIO_TARGET = 3.0
RATES_HZ = {"physics_rate_hz": 500.0, "control_rate_hz": 500.0, "mpc_rate_hz": 100.0}


def walk_once(tree: bl.Tree, speed: float, duration: float, gait: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "walk.json"
        child = bl.run_semloco(tree, ["walk", "--speed", f"{speed}", "--gait", gait, "--duration", f"{duration}",
                                      "--json", str(out), "--quiet"], must_load=("locomotion.mpc", "sim.walk"))
        if not out.is_file():
            raise RuntimeError(f"{tree.label}: semloco walk exited {child.returncode} without a report:\n"
                               f"{child.stderr_tail}")
        report = json.loads(out.read_text())
    solves = report["mpc_solve_ms"]["count"]
    return {"speed_mps": speed, "real_time_factor": report["real_time_factor"], "process_wall_s": child.wall_s,
            "load_1min": child.load_before, "fell": report["fell"], "mean_speed_mps": report["mean_speed_mps"],
            "mpc_solves_per_s": solves / report["walked_s"] if report["walked_s"] else None,
            "mpc_update_and_solve_p50_ms": report["mpc_update_and_solve_ms"]["p50"],
            **{k: child.rates.get(k) for k in RATES_HZ}, "modules_from_tree": child.modules_checked}


def summarize(rows: list[dict], tree_list: list[bl.Tree], speeds: list[float]) -> dict:
    labels = [t.label for t in tree_list]
    medians = {label: {f"{s:g}": bl.median_of(rows, "real_time_factor", tree=label, speed_mps=s) for s in speeds}
               for label in labels}
    verdicts = {}
    ratios = {}
    if "ref" in labels:
        ratios = {f"{s:g}": bl.ratio(medians["new"][f"{s:g}"], medians["ref"][f"{s:g}"]) for s in speeds}
        for s in speeds:
            verdicts[f"real-time factor ratio new/ref, trot {s:g} m/s"] = bl.verdict(ratios[f"{s:g}"], ">=",
                                                                                     RATIO_TARGET)
    new_rows = [r for r in rows if r["tree"] == "new"]
    for key, target in RATES_HZ.items():
        values = {r[key] for r in new_rows}
        value = values.pop() if len(values) == 1 else None  # one rate in every run, or not met
        verdicts[f"new code {key}"] = {"value": value, "target": f"== {target:g}", "met": value == target}
    slowest = min((r["mpc_solves_per_s"] or 0.0) for r in new_rows)
    verdicts["new code MPC solves per walking second (re-plans at 100 Hz plus contact changes)"] = \
        bl.verdict(slowest, ">=", 100.0)
    verdicts["no fall in any run"] = {"value": sum(r["fell"] for r in rows), "target": "== 0",
                                      "met": not any(r["fell"] for r in rows)}
    return {"medians_real_time_factor": medians, "ratio_new_over_ref": ratios,
            "targets": {"ratio_new_over_ref": f">= {RATIO_TARGET:g} at every speed",
                        **{k: f"== {v:g}" for k, v in RATES_HZ.items()}},
            "verdicts": verdicts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", metavar="REF", help="also run this commit (a git worktree), alternating")
    parser.add_argument("--runs", type=int, default=3, help="rounds (each speed once per tree per round)")
    parser.add_argument("--duration", type=float, default=15.0, help="walking time per run, s")
    parser.add_argument("--speeds", type=float, nargs="+", default=[1.0, 1.5], help="trot speeds, m/s")
    parser.add_argument("--gait", default="trot")
    parser.add_argument("--json", default="docs/walk_real_time_factor.json", help="where to write the figures")
    args = parser.parse_args()
    with bl.trees(args.baseline) as tree_list:
        print(f"semloco walk headless, {args.gait} at {', '.join(f'{s:g}' for s in args.speeds)} m/s for "
              f"{args.duration:g} s, {args.runs} round(s): " + ", ".join(f"{t.label} = {t.commit[:9]}"
                                                                        + (" + uncommitted edits" if t.uncommitted
                                                                           else "") for t in tree_list))
        rows = bl.alternate(tree_list, args.runs, list(args.speeds),
                            lambda tree, speed, _: walk_once(tree, speed, args.duration, args.gait))
        body = {"walk": {"gait": args.gait, "speeds_mps": args.speeds, "duration_s": args.duration,
                         "runs_per_speed_and_tree": args.runs},
                "figure": "real_time_factor of the semloco walk report (simulated s / wall s of the run loop)",
                "runs": rows, **summarize(rows, tree_list, args.speeds)}
        path = bl.write_json(args.json, "walk_real_time_factor", tree_list, body)
    for label, per_speed in body["medians_real_time_factor"].items():
        print(f"median real-time factor, {label}: " + ", ".join(f"{s} m/s {v:.2f}x" for s, v in per_speed.items()))
    for s, r in body["ratio_new_over_ref"].items():
        print(f"ratio new/ref at {s} m/s: {r:.2f}x")
    bl.print_verdicts(body["verdicts"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
