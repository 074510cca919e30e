"""The locomotion acceptance cases as one table (the same runs tests/test_walk_acceptance.py checks).

    python bench/walk_acceptance.py [--json docs/walk_acceptance.json]
"""

import argparse
import json

from sim.walk import Push, WalkRequest, run_walk

CASES = {
    "trot 0.5 m/s": WalkRequest(0.5, 0.0, 0.0, "trot", 20.0),
    "trot 1.0 m/s": WalkRequest(1.0, 0.0, 0.0, "trot", 20.0),
    "trot 1.5 m/s": WalkRequest(1.5, 0.0, 0.0, "trot", 20.0),
    "flying trot 2.0 m/s": WalkRequest(2.0, 0.0, 0.0, "flying_trot", 15.0),
    "turn 0.5 m/s, 0.5 rad/s": WalkRequest(0.5, 0.0, 0.5, "trot", 12.0),
    "sideways 0.3 m/s": WalkRequest(0.0, 0.3, 0.0, "trot", 12.0),
    "push 30 N x 0.2 s at 1.0 m/s": WalkRequest(1.0, 0.0, 0.0, "trot", 10.0, push=Push(5.0, (0.0, 30.0, 0.0), 0.2)),
    "walk (crawl) 0.3 m/s": WalkRequest(0.3, 0.0, 0.0, "walk", 12.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = {}
    header = f"{'case':32s} {'fell':5s} {'fwd m/s':>8s} {'lat m/s':>8s} {'yaw r/s':>8s} {'v-est RMSE':>10s} {'CoT':>6s}"
    print(header)
    print("-" * len(header))
    for name, request in CASES.items():
        r = run_walk(request)
        rows[name] = r
        fmt = lambda x: f"{x:8.3f}" if isinstance(x, float) else f"{'-':>8s}"
        print(f"{name:32s} {r['fell']!s:5s} {fmt(r['mean_speed_mps'])} {fmt(r['mean_lateral_speed_mps'])} "
              f"{fmt(r['mean_yaw_rate_radps'])} {fmt(r['velocity_estimate_rmse_mps']):>10s} "
              f"{r['cost_of_transport'] or float('nan'):6.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
