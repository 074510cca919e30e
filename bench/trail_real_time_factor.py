"""Real-time factor of `semloco trail` (camera -> perception -> speed policy -> gait selector ->
MPC -> torques, one process, headless).

Runs `semloco trail --trail demo --policy learned --seed 0 --json ...` `--runs` times on the current
code and, with `--baseline REF`, on a git worktree of REF in alternation (new, ref, new, ref, ...).
The figure is the report's `real_time_factor`: simulated time (stand-up included) over the wall
time of `run_trail` (world and model loading included, process start not). Each run also records
what makes the figure honest:

- perception on every decision frame: the learned policy decides `decision_rate_hz` times a
  simulated second from t = 0 until the run ends, so a run of `duration_s` makes
  floor(duration_s x rate) + 1 decisions (+-1 at the last tick); `perception_frames` (frames
  rendered and perceived) must equal that. If the report counts its decisions (`decisions`), the
  two must be equal exactly.
- the trail outcome: completed, falls, end reason, average speed.

Targets: the new code's median >= 3x real time and >= 2.3x the reference's median in the same
run; perception on every decision frame and the trail completed without a fall in every run.
Writes the JSON (default docs/trail_real_time_factor.json). One run takes a minute or two.

    python bench/trail_real_time_factor.py [--baseline b750309] [--runs 3] [--trail demo] [--policy learned]
"""

import argparse
import json
import math
import tempfile
from pathlib import Path

import baseline as bl

ABSOLUTE_TARGET = 3.0
RATIO_TARGET = 2.3


def expected_decisions(duration_s: float, rate_hz: float) -> int:
    return math.floor(duration_s * rate_hz + 1e-9) + 1


def trail_once(tree: bl.Tree, trail: str, policy: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "trail.json"
        child = bl.run_semloco(tree, ["trail", "--trail", trail, "--policy", policy, "--seed", str(seed),
                                      "--json", str(out), "--quiet"],
                               must_load=("sim.trail_run", "locomotion.mpc", "robot_perception.inference"))
        if not out.is_file():
            raise RuntimeError(f"{tree.label}: semloco trail exited {child.returncode} without a report:\n"
                               f"{child.stderr_tail}")
        report = json.loads(out.read_text())
    rate = report.get("decision_rate_hz")
    frames = report.get("perception_frames")
    expected = expected_decisions(report["duration_s"], rate) if rate else None
    counted = report.get("decisions")
    if counted is not None:
        every_frame = frames == counted and abs(counted - expected) <= 1
    else:
        every_frame = frames is not None and expected is not None and abs(frames - expected) <= 1
    return {"real_time_factor": report["real_time_factor"], "process_wall_s": child.wall_s,
            "load_1min": child.load_before, "completed": report["completed"], "falls": report["falls"],
            "end_reason": report["end_reason"], "avg_speed_mps": report["avg_speed_mps"],
            "duration_s": report["duration_s"], "decision_rate_hz": rate, "decisions_reported": counted,
            "decisions_expected": expected, "perception_frames": frames,
            "perception_on_every_decision": bool(every_frame),
            "perception_ms_per_frame": report.get("perception_ms_per_frame")}


def summarize(rows: list[dict], tree_list: list[bl.Tree]) -> dict:
    medians = {t.label: bl.median_of(rows, "real_time_factor", tree=t.label) for t in tree_list}
    new_rows = [r for r in rows if r["tree"] == "new"]
    verdicts = {"new code real-time factor (median)": bl.verdict(medians["new"], ">=", ABSOLUTE_TARGET)}
    ratio = None
    if "ref" in medians:
        ratio = bl.ratio(medians["new"], medians["ref"])
        verdicts["real-time factor ratio new/ref"] = bl.verdict(ratio, ">=", RATIO_TARGET)
    missing = sum(not r["perception_on_every_decision"] for r in new_rows)
    verdicts["new code: runs without perception on every decision frame"] = {
        "value": missing, "target": "== 0", "met": missing == 0}
    failed = sum(not r["completed"] or r["falls"] > 0 for r in new_rows)
    verdicts["new code: runs not completed or with a fall"] = {"value": failed, "target": "== 0", "met": failed == 0}
    return {"median_real_time_factor": medians, "ratio_new_over_ref": ratio,
            "median_avg_speed_mps": {t.label: bl.median_of(rows, "avg_speed_mps", tree=t.label) for t in tree_list},
            "targets": {"real_time_factor": f">= {ABSOLUTE_TARGET:g}", "ratio_new_over_ref": f">= {RATIO_TARGET:g}",
                        "perception": "perception_frames == decisions in every run",
                        "outcome": "completed, 0 falls in every run"},
            "verdicts": verdicts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", metavar="REF", help="also run this commit (a git worktree), alternating")
    parser.add_argument("--runs", type=int, default=3, help="rounds (one run per tree per round)")
    parser.add_argument("--trail", default="demo")
    parser.add_argument("--policy", default="learned")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="docs/trail_real_time_factor.json", help="where to write the figures")
    args = parser.parse_args()
    with bl.trees(args.baseline) as tree_list:
        print(f"semloco trail --trail {args.trail} --policy {args.policy} --seed {args.seed}, {args.runs} round(s): "
              + ", ".join(f"{t.label} = {t.commit[:9]}" for t in tree_list), flush=True)
        rows = bl.alternate(tree_list, args.runs, [None],
                            lambda tree, _, __: trail_once(tree, args.trail, args.policy, args.seed))
        body = {"trail_run": {"trail": args.trail, "policy": args.policy, "seed": args.seed,
                              "runs_per_tree": args.runs},
                "figure": "real_time_factor of the semloco trail report (simulated s / wall s of run_trail)",
                "runs": rows, **summarize(rows, tree_list)}
        path = bl.write_json(args.json, "trail_real_time_factor", tree_list, body)
    for label, m in body["median_real_time_factor"].items():
        speed = body["median_avg_speed_mps"][label]
        print(f"median real-time factor, {label}: {m:.2f}x (average speed {speed:.2f} m/s)")
    if body["ratio_new_over_ref"] is not None:
        print(f"ratio new/ref: {body['ratio_new_over_ref']:.2f}x")
    bl.print_verdicts(body["verdicts"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
