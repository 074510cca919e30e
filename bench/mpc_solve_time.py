"""MPC solve time over real closed-loop solves.

Trots the A1 at 1.0 m/s in PyBullet and times every MPC solve the controller makes (re-plans at
100 Hz and on contact changes). Prints p50/p99 of the OSQP solve alone and of the full MPC step
(matrix updates + solve), the figures to quote. Target: p99 <= 2 ms.

    python bench/mpc_solve_time.py [--seconds 20] [--json out.json]
"""

import argparse
import json

from sim.walk import WalkRequest, run_walk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    report = run_walk(WalkRequest(speed_mps=1.0, gait="trot", duration_s=args.seconds))
    solve, total = report["mpc_solve_ms"], report["mpc_update_and_solve_ms"]
    if solve["count"] < 1000:
        raise SystemExit(f"only {solve['count']} solves; run longer (--seconds)")
    result = {"solves": solve["count"], "solve_ms": solve, "update_and_solve_ms": total,
              "median_iterations": report["mpc_iterations_median"], "fell": report["fell"]}
    print(f"MPC solves: {solve['count']} (trot 1.0 m/s, {args.seconds:.0f} s, horizon 10 x 25 ms, OSQP)")
    print(f"  OSQP solve        p50 {solve['p50']:.3f} ms   p99 {solve['p99']:.3f} ms   max {solve['max']:.3f} ms")
    print(f"  update + solve    p50 {total['p50']:.3f} ms   p99 {total['p99']:.3f} ms   max {total['max']:.3f} ms")
    print(f"  median ADMM iterations {report['mpc_iterations_median']:.0f}; target p99 <= 2 ms: "
          f"{'met' if total['p99'] <= 2.0 else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
