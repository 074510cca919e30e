"""The four policies (learned, oracle, fixed-slow, fixed-fast) on the demo and paper460 trails.

Runs `sim.trail_run.run_trail` for every policy x trail x seed through the `semloco sweep` runner
(Ray tasks, one CPU each; local Ray with --workers CPUs, or the cluster at --address / RAY_ADDRESS),
and writes docs/trail_policies.json (every report), docs/trail_policies.md (the README's table and
the acceptance checks of issue 6) and the speed-along-the-trail plot of each learned run and each
seed-0 run (docs/trail_runs/). Prints the table and a PASS/FAIL line per check.

Each finished run is kept in --runs (out/trail_policies_runs/<run id>.json): a killed bench started
again skips those runs. Use a fresh --runs folder after changing the code.

    python bench/trail_policies.py [--trails demo paper460] [--seeds 0 1 2] [--workers 2] [--address ADDR]
    python bench/trail_policies.py --table-only      # remake the table from docs/trail_policies.json
    python bench/trail_policies.py --policies learned --merge   # re-run some, keep the others

About an hour on the 2-core machine for the full set (paper460 is 460 m; fixed-slow walks it at
~0.45 m/s, i.e. 17 simulated minutes per run).
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semantic_locomotion.sweep import RaySession, SweepFailed, SweepGrid, SweepInputError, run_sweep, validate_grid  # noqa: E402
from semantic_locomotion.trail_table import POLICY_ORDER, REPORT_JSON, PolicyPage, merge_runs, write_policy_report  # noqa: E402

ISSUE6_POLICIES = ("learned", "oracle", "fixed-slow", "fixed-fast")  # the bench's four (fixed-medium: on request)
PLOTS_NOTE = "learned and seed-0 runs' plots in docs/trail_runs/"


def show(page: PolicyPage) -> int:
    print(page.table)
    print(page.check_lines())
    return 0 if page.all_pass else 1


def table_only(docs: Path, merge_from: list[str]) -> int:
    store = docs / REPORT_JSON
    data = json.loads(store.read_text()) if store.is_file() else {"command": "", "reports": []}
    for other in merge_from:
        data = merge_runs(data, json.loads(Path(other).read_text()))
    return show(write_policy_report(data, docs, PLOTS_NOTE))


def run_grid(args: argparse.Namespace, docs: Path) -> int:
    grid = SweepGrid(tuple(args.trails), tuple(args.policies), tuple(args.seeds))
    try:
        validate_grid(grid)
        cluster = args.address or os.environ.get("RAY_ADDRESS")
        with RaySession(args.address, None if cluster else args.workers):
            reports = run_sweep(grid.runs(), Path(args.runs), docs / "trail_runs")
    except SweepInputError as exc:
        print(f"trail_policies: {exc}", file=sys.stderr)
        return 2
    except SweepFailed as exc:
        print(f"trail_policies: {exc}", file=sys.stderr)
        return 1
    data = {"command": "python bench/trail_policies.py " + " ".join(sys.argv[1:]), "reports": reports}
    store = docs / REPORT_JSON
    if args.merge and store.is_file():
        data = merge_runs(json.loads(store.read_text()), data)
    return show(write_policy_report(data, docs, PLOTS_NOTE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trails", nargs="+", default=["demo", "paper460"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--policies", nargs="+", default=list(ISSUE6_POLICIES), choices=POLICY_ORDER)
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--address", help="Ray cluster to run on (default: RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--runs", default=str(ROOT / "out" / "trail_policies_runs"),
                        help="folder of the per-run reports (finished runs are skipped)")
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--merge-from", nargs="+", default=[],
                        help="with --table-only: first merge these trail_policies.json files (runs made in parallel)")
    parser.add_argument("--merge", action="store_true",
                        help="add these runs to docs/trail_policies.json (replacing same trail/policy/seed)")
    args = parser.parse_args()
    docs = Path(args.docs)
    if args.table_only:
        return table_only(docs, args.merge_from)
    return run_grid(args, docs)


if __name__ == "__main__":
    sys.exit(main())
