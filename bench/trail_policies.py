"""The four policies (learned, oracle, fixed-slow, fixed-fast) on the demo and paper460 trails.

Runs `sim.trail_run.run_trail` for every policy x trail x seed (in parallel worker processes),
and writes docs/trail_policies.json (every report), docs/trail_policies.md (the README's table
and the acceptance checks of issue 6) and the speed-along-the-trail plot of each learned run
(docs/trail_runs/). Prints the table and a PASS/FAIL line per check.

    python bench/trail_policies.py [--trails demo paper460] [--seeds 0 1 2] [--workers 2]
    python bench/trail_policies.py --table-only      # remake the table from docs/trail_policies.json
    python bench/trail_policies.py --policies learned --merge   # re-run some, keep the others

About an hour on the 2-core machine for the full set (paper460 is 460 m; fixed-slow walks it at
~0.45 m/s, i.e. 17 simulated minutes per run).
"""

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POLICIES = ("learned", "oracle", "fixed-slow", "fixed-fast")


def run_one(job: tuple[str, str, int, str]) -> dict:
    import torch

    torch.set_num_threads(1)
    from sim.trail import load_trail
    from sim.trail_report import plot_run
    from sim.trail_run import TrailRunRequest, run_trail

    trail_name, policy, seed, plots = job
    trail = load_trail(trail_name)
    start = time.perf_counter()
    report, samples = run_trail(TrailRunRequest(trail, policy, seed))
    report["wall_s"] = time.perf_counter() - start
    if policy == "learned" or seed == 0:
        Path(plots).mkdir(parents=True, exist_ok=True)
        plot_run(report, samples, trail, Path(plots) / f"{trail_name}_{policy}_seed{seed}.png")
    print(f"{trail_name:9s} {policy:10s} seed {seed}: {report['end_reason']:9s} {report['distance_m']:6.1f} m "
          f"{report['avg_speed_mps']:.2f} m/s  ({report['wall_s'] / 60:.1f} min)", flush=True)
    return report


def worst_preference_gap(runs: list[dict], field: str, preferences: dict[str, float]) -> tuple[float, str]:
    """The largest |per-terrain mean ``field`` - preference| over ``runs`` (terrains walked > 2 m), and where."""
    worst = (0.0, "")
    for r in runs:
        for terrain, row in r["per_terrain"].items():
            gap = abs(row[field] - preferences[terrain])
            if row["distance_m"] > 2.0 and gap > worst[0]:
                where = f"{r['trail']} seed {r['seed']} {terrain}"
                worst = (gap, f"{where}: {row[field]:.2f} vs {preferences[terrain]}")
    return worst


def acceptance(reports: list[dict], preferences: dict[str, float]) -> list[tuple[str, bool, str]]:
    learned = [r for r in reports if r["policy"] == "learned"]
    checks = []
    ok = bool(learned) and all(r["completed"] and r["falls"] == 0 for r in learned)
    checks.append(("learned completes every run with no fall", ok,
                   f"{sum(r['completed'] for r in learned)}/{len(learned)} completed, "
                   f"{sum(r['falls'] for r in learned)} falls"))
    for kind, field in (("achieved", "mean_speed_mps"), ("commanded", "mean_command_mps")):
        gap, where = worst_preference_gap(learned, field, preferences)
        checks.append((f"learned per-terrain mean {kind} speed within 0.2 m/s of the demonstrator's preference",
                       bool(learned) and gap <= 0.2, f"worst gap {gap:.2f} m/s ({where})"))
    # the trails themselves must let the preferences be reached: the demonstrator's own choices (oracle,
    # ground truth) fall short where a terrain is too short for the robot to get up to speed
    oracle_runs = [r for r in reports if r["policy"] == "oracle"]
    if oracle_runs:
        gap, where = worst_preference_gap(oracle_runs, "mean_speed_mps", preferences)
        checks.append(("(trail check) oracle per-terrain mean achieved speed within 0.2 m/s of the preference",
                       gap <= 0.2, f"worst gap {gap:.2f} m/s ({where})"))
    # context: how closely learned follows the demonstrator's own choices on the same trail and seed
    oracle = {(r["trail"], r["seed"]): r for r in reports if r["policy"] == "oracle"}
    paired = [(r, oracle[(r["trail"], r["seed"])]) for r in learned if (r["trail"], r["seed"]) in oracle]
    if paired:
        worst = (0.0, "")
        for r, o in paired:
            for terrain, row in r["per_terrain"].items():
                if row["distance_m"] > 2.0 and terrain in o["per_terrain"]:
                    gap = abs(row["mean_speed_mps"] - o["per_terrain"][terrain]["mean_speed_mps"])
                    if gap > worst[0]:
                        worst = (gap, f"{r['trail']} seed {r['seed']} {terrain}: {row['mean_speed_mps']:.2f} vs "
                                      f"{o['per_terrain'][terrain]['mean_speed_mps']:.2f}")
        checks.append(("(context) learned per-terrain mean achieved speed within 0.2 m/s of the oracle's on the "
                       "same trail and seed", worst[0] <= 0.2,
                       f"worst gap {worst[0]:.2f} m/s ({worst[1]}); {len(paired)} pairs"))
    for trail in sorted({r["trail"] for r in reports}):
        a = [r["avg_speed_mps"] for r in learned if r["trail"] == trail]
        b = [r["avg_speed_mps"] for r in reports if r["policy"] == "fixed-slow" and r["trail"] == trail]
        if a and b:
            ratio = np.mean(a) / np.mean(b)
            checks.append((f"{trail}: learned average speed >= 1.4 x fixed-slow's", ratio >= 1.4,
                           f"{np.mean(a):.2f} / {np.mean(b):.2f} = {ratio:.2f}x"))
    fast = [r for r in reports if r["policy"] == "fixed-fast"]
    failed = [r for r in fast if not r["completed"]]
    checks.append(("fixed-fast fails (falls or does not complete) at least once", bool(failed),
                   f"{len(failed)}/{len(fast)} runs failed"))
    return checks


def table(reports: list[dict], preferences: dict[str, float]) -> str:
    lines = ["| trail | policy | completed | falls | avg speed (m/s) | time (min) | CoT | per-terrain achieved / "
             "commanded (m/s) |", "|---|---|---|---|---|---|---|---|"]
    trails = sorted({r["trail"] for r in reports}, key=lambda t: (t != "demo", t))
    for trail in trails:
        for policy in POLICIES:
            runs = [r for r in reports if r["trail"] == trail and r["policy"] == policy]
            if not runs:
                continue
            terrains = sorted({t for r in runs for t in r["per_terrain"]})
            per = "; ".join(
                f"{t} {np.mean([r['per_terrain'][t]['mean_speed_mps'] for r in runs if t in r['per_terrain']]):.2f}"
                f" / {np.mean([r['per_terrain'][t]['mean_command_mps'] for r in runs if t in r['per_terrain']]):.2f}"
                for t in terrains)
            cot = [r["cost_of_transport"] for r in runs if r["cost_of_transport"] is not None]
            done, falls = sum(r["completed"] for r in runs), sum(r["falls"] for r in runs)
            lines.append(
                f"| {trail} | {policy} | {done}/{len(runs)} | {falls}"
                f" | {np.mean([r['avg_speed_mps'] for r in runs]):.2f} | "
                f"{np.mean([r['duration_s'] for r in runs]) / 60:.1f} | {np.mean(cot):.2f} | {per} |")
    prefs = ", ".join(f"{t} {v}" for t, v in preferences.items())
    return "\n".join(lines) + f"\n\nDemonstrator's preferences (m/s): {prefs}.\n"


def write_docs(reports: list[dict], docs: Path, command: str) -> bool:
    from sim.demonstrator import load_demonstrator_config

    preferences = load_demonstrator_config().preferred_speed_mps
    checks = acceptance(reports, preferences)
    text = table(reports, preferences)
    lines = [f"- {'PASS' if ok else 'FAIL'}: {name} — {detail}" for name, ok, detail in checks]
    seeds = sorted({r["seed"] for r in reports})
    (docs / "trail_policies.md").write_text(
        f"# Policies on the trails\n\nMade by `{command}` (seeds {seeds}; per-run reports in "
        f"docs/trail_policies.json, learned runs' plots in docs/trail_runs/).\n\n{text}\n## Checks (issue 6)\n\n"
        + "\n".join(lines) + "\n")
    print(text)
    print("\n".join(lines))
    return all(ok for _, ok, _ in checks)


def merge_runs(old: dict, new: dict) -> dict:
    """``old``'s runs with ``new``'s added (a run of the same trail, policy and seed is replaced), and
    both commands listed in order, once each."""
    key = lambda r: (r["trail"], r["policy"], r["seed"])
    fresh = {key(r) for r in new["reports"]}
    reports = [r for r in old["reports"] if key(r) not in fresh] + new["reports"]
    command = "; ".join(c for c in dict.fromkeys(old["command"].split("; ") + [new["command"]]) if c)
    return {"command": command, "reports": reports}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trails", nargs="+", default=["demo", "paper460"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--merge-from", nargs="+", default=[],
                        help="with --table-only: first merge these trail_policies.json files (runs made in parallel)")
    parser.add_argument("--merge", action="store_true",
                        help="add these runs to docs/trail_policies.json (replacing same trail/policy/seed)")
    args = parser.parse_args()
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    store = docs / "trail_policies.json"
    if args.table_only:
        data = json.loads(store.read_text()) if store.is_file() else {"command": "", "reports": []}
        for other in args.merge_from:
            data = merge_runs(data, json.loads(Path(other).read_text()))
        store.write_text(json.dumps(data, indent=2) + "\n")
        return 0 if write_docs(data["reports"], docs, data["command"]) else 1
    jobs = [(t, p, s, str(docs / "trail_runs")) for t in args.trails for s in args.seeds for p in args.policies]
    jobs.sort(key=lambda j: (j[0] != "paper460", j[1] != "fixed-slow"))  # longest first
    command = "python bench/trail_policies.py " + " ".join(sys.argv[1:])
    partial = docs / "trail_policies.partial.json"  # each run as it ends: a killed bench loses nothing
    reports = []
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for report in pool.imap_unordered(run_one, jobs, chunksize=1):
            reports.append(report)
            partial.write_text(json.dumps({"command": command, "reports": reports}, indent=2) + "\n")
    data = {"command": command, "reports": reports}
    if args.merge and store.is_file():
        data = merge_runs(json.loads(store.read_text()), data)
    store.write_text(json.dumps(data, indent=2) + "\n")
    partial.unlink(missing_ok=True)
    return 0 if write_docs(data["reports"], docs, data["command"]) else 1


if __name__ == "__main__":
    sys.exit(main())
