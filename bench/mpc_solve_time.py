"""MPC solve time over real closed-loop solves.

Trots the A1 at 1.0 m/s in PyBullet (`semloco walk --speed 1.0 --duration 20`) and reads the
report's timing of every MPC step the controller makes while walking (re-plans at 100 Hz and on
contact changes; horizon 10 x 25 ms, OSQP): p50/p99 of the OSQP solve alone and of the full MPC
step (matrix updates + solve), the figures to quote. Each run's percentiles are over its ~2,000
solves; the bench prints every run and the median of each percentile over the `--runs` runs. With
`--baseline REF` it also runs a git worktree of REF, alternating (new, ref, new, ref, ...), and
prints the ratios new/ref. Writes the JSON (default docs/mpc_solve_time.json).

Targets (update + solve): p50 <= 0.35 ms and p99 <= 0.6 ms, or, measured in the same run,
p50 <= 0.6x and p99 <= 0.85x the reference's.

    python bench/mpc_solve_time.py [--baseline b750309] [--runs 3] [--seconds 20]
"""

import argparse
import json
import tempfile
from pathlib import Path

import baseline as bl

ABSOLUTE_MS = {"p50": 0.35, "p99": 0.6}
RELATIVE = {"p50": 0.6, "p99": 0.85}
MIN_SOLVES = 1000


def solve_once(tree: bl.Tree, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "walk.json"
        child = bl.run_semloco(tree, ["walk", "--speed", "1.0", "--gait", "trot", "--duration", f"{seconds}",
                                      "--json", str(out), "--quiet"], must_load=("locomotion.mpc", "sim.walk"))
        if not out.is_file():
            raise RuntimeError(f"{tree.label}: semloco walk exited {child.returncode} without a report:\n"
                               f"{child.stderr_tail}")
        report = json.loads(out.read_text())
    solve, total = report["mpc_solve_ms"], report["mpc_update_and_solve_ms"]
    if solve["count"] < MIN_SOLVES:
        raise SystemExit(f"{tree.label}: only {solve['count']} solves; run longer (--seconds)")
    return {"solves": solve["count"], "update_and_solve_p50_ms": total["p50"], "update_and_solve_p99_ms": total["p99"],
            "update_and_solve_max_ms": total["max"], "solve_p50_ms": solve["p50"], "solve_p99_ms": solve["p99"],
            "median_iterations": report["mpc_iterations_median"], "fell": report["fell"],
            "load_1min": child.load_before, "mpc_rate_hz": child.rates.get("mpc_rate_hz")}


def summarize(rows: list[dict], tree_list: list[bl.Tree]) -> dict:
    keys = ("update_and_solve_p50_ms", "update_and_solve_p99_ms", "solve_p50_ms", "solve_p99_ms")
    medians = {t.label: {k: bl.median_of(rows, k, tree=t.label) for k in keys} for t in tree_list}
    new = medians["new"]
    verdicts = {f"update + solve {p} (absolute)": bl.verdict(new[f"update_and_solve_{p}_ms"], "<=", ms)
                for p, ms in ABSOLUTE_MS.items()}
    ratios = {}
    if "ref" in medians:
        ratios = {k: bl.ratio(new[k], medians["ref"][k]) for k in keys}
        verdicts.update({f"update + solve {p} new/ref (same run)": bl.verdict(ratios[f"update_and_solve_{p}_ms"],
                                                                              "<=", r) for p, r in RELATIVE.items()})
    absolute = all(verdicts[f"update + solve {p} (absolute)"]["met"] for p in ABSOLUTE_MS)
    relative = bool(ratios) and all(verdicts[f"update + solve {p} new/ref (same run)"]["met"] for p in RELATIVE)
    return {"medians_ms": medians, "ratio_new_over_ref": ratios,
            "targets": {"absolute_ms": {p: f"<= {v:g}" for p, v in ABSOLUTE_MS.items()},
                        "relative_to_ref": {p: f"<= {v:g}" for p, v in RELATIVE.items()},
                        "rule": "both absolute targets, or both relative ones"},
            "verdicts": verdicts, "target_met": absolute or relative,
            "target_met_by": "absolute" if absolute else "relative" if relative else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", metavar="REF", help="also run this commit (a git worktree), alternating")
    parser.add_argument("--runs", type=int, default=3, help="rounds (one run per tree per round)")
    parser.add_argument("--seconds", type=float, default=20.0, help="walking time per run, s")
    parser.add_argument("--json", default="docs/mpc_solve_time.json", help="where to write the figures")
    args = parser.parse_args()
    with bl.trees(args.baseline) as tree_list:
        print(f"MPC steps while trotting at 1.0 m/s for {args.seconds:g} s (horizon 10 x 25 ms, OSQP), "
              f"{args.runs} round(s): " + ", ".join(f"{t.label} = {t.commit[:9]}" for t in tree_list))
        rows = bl.alternate(tree_list, args.runs, [None], lambda tree, _, __: solve_once(tree, args.seconds))
        body = {"walk": {"gait": "trot", "speed_mps": 1.0, "duration_s": args.seconds, "runs_per_tree": args.runs},
                "figure": "percentiles of each run's MPC steps while walking (semloco walk report: mpc_solve_ms, "
                          "mpc_update_and_solve_ms); medians over runs",
                "runs": rows, **summarize(rows, tree_list)}
        path = bl.write_json(args.json, "mpc_solve_time", tree_list, body)
    for label, m in body["medians_ms"].items():
        print(f"{label}: OSQP solve p50 {m['solve_p50_ms']:.3f} ms  p99 {m['solve_p99_ms']:.3f} ms;  "
              f"update + solve p50 {m['update_and_solve_p50_ms']:.3f} ms  p99 {m['update_and_solve_p99_ms']:.3f} ms")
    if body["ratio_new_over_ref"]:
        r = body["ratio_new_over_ref"]
        print(f"new/ref: update + solve p50 {r['update_and_solve_p50_ms']:.2f}x  "
              f"p99 {r['update_and_solve_p99_ms']:.2f}x;  "
              f"OSQP solve p50 {r['solve_p50_ms']:.2f}x  p99 {r['solve_p99_ms']:.2f}x")
    bl.print_verdicts(body["verdicts"])
    print(f"target {'met (' + body['target_met_by'] + ')' if body['target_met'] else 'MISSED'}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
