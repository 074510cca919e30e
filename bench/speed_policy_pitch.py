"""Does the learned speed policy read body pitch as terrain? Walks straight 30 m trails of one
terrain each with the shipped models and prints, per terrain, the raw per-frame prediction (mean,
standard deviation), how much of it follows the trunk's pitch (correlation, and the least-squares
slope in m/s per degree), and the mean command against the demonstrator's preference. On uniform
ground a policy should be steady; one that learned pitch (which goes with the demonstrated speed in
the demonstrations) as a cue wanders with the gait's pitching.

    python bench/speed_policy_pitch.py [--terrains asphalt concrete gravel deep_grass] [--seed 0]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from locomotion import kinematics as kin
    from sim.demonstrator import load_demonstrator_config
    from sim.trail import Trail, TrailSegment
    from sim.trail_run import TrailRunRequest, run_trail

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--terrains", nargs="+", default=["asphalt", "concrete", "gravel", "deep_grass"])
    parser.add_argument("--length-m", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    preferences = load_demonstrator_config().preferred_speed_mps
    rows = {}
    print("| terrain | preferred (m/s) | raw prediction mean ± sd (m/s) | pitch sd (deg) | correlation with pitch "
          "| slope (m/s per deg) | mean command (m/s) |")
    print("|---|---|---|---|---|---|---|")
    for terrain in args.terrains:
        log = []

        def record(t, truth, source, log=log):
            pitch = kin.rotation_to_rpy(kin.quaternion_to_rotation(truth.orientation_xyzw))[1]
            log.append((float(pitch), float(source.policy.raw)))

        trail = Trail(f"straight_{terrain}", 11, (TrailSegment(terrain, args.length_m),))
        report, _ = run_trail(TrailRunRequest(trail, "learned", args.seed), on_decision=record)
        pitch, raw = np.array(log[5:]).T  # after the first second (standing start)
        pitch = np.degrees(pitch)
        row = {"preferred_mps": preferences[terrain], "raw_mean_mps": float(raw.mean()), "raw_sd_mps": float(raw.std()),
               "pitch_sd_deg": float(pitch.std()), "pitch_correlation": float(np.corrcoef(pitch, raw)[0, 1]),
               "slope_mps_per_deg": float(np.polyfit(pitch, raw, 1)[0]),
               "mean_command_mps": report["per_terrain"][terrain]["mean_command_mps"],
               "completed": report["completed"]}
        rows[terrain] = row
        print(f"| {terrain} | {row['preferred_mps']:.1f} | {row['raw_mean_mps']:.2f} ± {row['raw_sd_mps']:.2f} | "
              f"{row['pitch_sd_deg']:.2f} | {row['pitch_correlation']:+.2f} | {row['slope_mps_per_deg']:+.3f} | "
              f"{row['mean_command_mps']:.2f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
