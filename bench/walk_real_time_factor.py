"""Real-time factor of `semloco walk` headless (simulated seconds per wall-clock second).

Runs the CLI as a user would (trot at 1.0 m/s for 20 s, physics and control at 500 Hz, MPC at
100 Hz) three times and prints each figure and the median. Target: >= 3x.

    python bench/walk_real_time_factor.py [--runs 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    factors = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            out = Path(tmp) / f"walk{run}.json"
            subprocess.run([sys.executable, "-m", "semantic_locomotion.cli", "walk", "--speed", "1.0",
                            "--duration", str(args.duration), "--json", str(out), "--quiet"],
                           check=True, capture_output=True)
            factors.append(json.loads(out.read_text())["real_time_factor"])
            print(f"run {run + 1}: real-time factor {factors[-1]:.2f}x")
    median = statistics.median(factors)
    print(f"semloco walk headless, trot 1.0 m/s, {args.duration:.0f} s: median real-time factor {median:.2f}x "
          f"(target >= 3x: {'met' if median >= 3.0 else 'MISSED'})")


if __name__ == "__main__":
    main()
