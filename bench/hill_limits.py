"""Hill limits (issue "Hills"): the steepest constant slope each skill walks, up and down, on asphalt.

A step's trail is asphalt throughout: a 4 m flat run-in, then 15 m at the slope (entered over a dip
when climbing, over a crest when descending; the trail ends on the slope). Slopes go in steps of
2.5 deg up to the trail loader's +-15 deg. Each skill (slow 0.5 m/s, medium 1.0, fast 1.4: the
sweep's ``fixed-<skill>`` policies) walks each step with 3 seeds.

"Walks" a slope: all its seeds complete (the trunk passes the trail's end) without a fall. The
limit in a direction is the largest slope such that it and every smaller step pass (0 if even
2.5 deg fails): a pass above a failed step does not count. The steps of a direction are walked in
order and stop at its first failing step (``--all-steps`` walks them all, for the record; the limit
is the same).

The runs go through the sweep runner (Ray, one CPU a run, one JSON per run in <out>/runs/, resumed
when started again). Prints and writes docs/hill_limits.json and docs/hill_limits.md; targets
+-15 deg for slow, +-10 deg for fast (met/MISSED).

    python bench/hill_limits.py [--seeds 0 1 2] [--cpus 1] [--out out/hill_limits] [--docs docs]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slope_runs as sr

TERRAIN = "asphalt"
RUN_IN_M = 4.0
SLOPE_M = 15.0
STEP_DEG = 2.5
MAX_DEG = 15.0  # sim.trail.MAX_SLOPE_DEG
TARGETS_DEG = {"slow": 15.0, "fast": 10.0}
NAME = "hill_limits"
DIRECTIONS = {"up": 1.0, "down": -1.0}


def steps_deg(step: float = STEP_DEG, top: float = MAX_DEG) -> list[float]:
    """The slope magnitudes walked, smallest first: 2.5, 5, ..., 15."""
    return [round(step * k, 6) for k in range(1, round(top / step) + 1)]


def hill_trail(slope_deg: float, seed: int = sr.TRAIL_SEED) -> dict:
    return {"name": f"hill_{TERRAIN}_{sr.slope_label(slope_deg)}", "seed": seed, "segments": [
        {"terrain": TERRAIN, "length_m": RUN_IN_M},
        {"terrain": TERRAIN, "length_m": SLOPE_M, "slope_deg": float(slope_deg)}]}


def step_passes(runs: list[dict], seeds) -> bool:
    """A step passes when every seed has a run and each completed with no fall."""
    by_seed = {r["seed"]: r for r in runs}
    return all(s in by_seed and sr.passes(by_seed[s]) for s in seeds)


def limit_deg(passed: dict[float, bool], steps: list[float]) -> float:
    """The largest step such that it and every smaller step passed (0 if the first failed or is
    missing): the rule stops at the first failing (or unwalked) step."""
    limit = 0.0
    for magnitude in steps:
        if not passed.get(magnitude, False):
            break
        limit = magnitude
    return limit


def summarize(reports: list[dict], trails: dict[str, float], skills, seeds, steps) -> dict:
    """Per skill and direction: each walked step (completed, falls, mean achieved speed, ends,
    passes) and the limit."""
    out = {}
    for skill in skills:
        out[skill] = {}
        for direction, sign in DIRECTIONS.items():
            rows, passed = {}, {}
            for magnitude in steps:
                runs = [r for r in reports if sr.skill_of(r["policy"]) == skill
                        and trails.get(r["trail"]) == sign * magnitude]
                if not runs:
                    continue
                passed[magnitude] = step_passes(runs, seeds)
                rows[f"{sign * magnitude:+g}"] = {
                    "slope_deg": sign * magnitude, "runs": len(runs),
                    "completed": sum(bool(r["completed"]) for r in runs), "falls": sum(int(r["falls"]) for r in runs),
                    "achieved_speed_mps": float(np.mean([r["avg_speed_mps"] for r in runs])),
                    "end_reasons": sorted(r["end_reason"] for r in runs), "passes": passed[magnitude]}
            out[skill][direction] = {"limit_deg": limit_deg(passed, steps), "steps": rows}
    return out


def check_targets(limits: dict) -> list[dict]:
    out = []
    for skill, target in TARGETS_DEG.items():
        if skill not in limits:
            continue
        got = {d: limits[skill][d]["limit_deg"] for d in DIRECTIONS}
        out.append({"target": f"{skill} walks +-{target:g} deg", "skill": skill, "target_deg": target,
                    "limits_deg": got, "met": all(v >= target for v in got.values())})
    return out


def target_lines(targets: list[dict]) -> list[str]:
    return [f"- {'met' if t['met'] else 'MISSED'}: {t['target']} (up {t['limits_deg']['up']:g}, "
            f"down {t['limits_deg']['down']:g} deg)" for t in targets]


def table(limits: dict) -> str:
    lines = ["| skill | limit up | limit down | steps walked (slope: completed/runs, falls, m/s) |",
             "|---|---|---|---|"]
    for skill, by_dir in limits.items():
        walked = []
        for direction in DIRECTIONS:
            for key, row in by_dir[direction]["steps"].items():
                walked.append(f"{key}°: {row['completed']}/{row['runs']}, {row['falls']} fell, "
                              f"{row['achieved_speed_mps']:.2f}")
        lines.append(f"| {skill} {sr.SKILLS[skill]} m/s | +{by_dir['up']['limit_deg']:g}° | "
                     f"−{by_dir['down']['limit_deg']:g}° | " + "; ".join(walked) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sr.add_run_arguments(parser, NAME)
    parser.add_argument("--max-deg", type=float, default=MAX_DEG, help="the steepest step walked")
    parser.add_argument("--all-steps", action="store_true", help="walk every step, not only up to the first failure")
    args = parser.parse_args()
    from semantic_locomotion.sweep import SweepFailed, SweepInputError

    out, docs = Path(args.out).resolve(), Path(args.docs).resolve()
    os.chdir(sr.ROOT)  # the trails go to the sweep as paths relative to the repository root
    steps = steps_deg(top=args.max_deg)
    trails, path_of = {}, {}
    for magnitude in steps:
        for sign in DIRECTIONS.values():
            trail = hill_trail(sign * magnitude)
            trails[trail["name"]] = sign * magnitude
            path_of[sign * magnitude] = sr.sweep_path(sr.write_trail(trail, out / "trails"))
    reports: list[dict] = []
    alive = {(skill, sign) for skill in args.skills for sign in DIRECTIONS.values()}
    try:
        with sr.connect(args.cpus, args.address):
            for magnitude in steps:  # one sweep per step: the (skill, direction)s that passed every smaller step
                for skill in args.skills:
                    signs = [s for s in DIRECTIONS.values() if args.all_steps or (skill, s) in alive]
                    if not signs:
                        continue
                    got = sr.walk([path_of[s * magnitude] for s in signs], [skill], args.seeds, out / "runs",
                                  args.quiet)
                    reports += got
                    for sign in signs:
                        runs = [r for r in got if trails[r["trail"]] == sign * magnitude]
                        if not step_passes(runs, args.seeds):
                            alive.discard((skill, sign))
                        print(f"{skill} {sign * magnitude:+g} deg: " + ("passes" if step_passes(runs, args.seeds)
                                                                        else "fails"), flush=True)
    except (SweepInputError, SweepFailed) as exc:
        print(f"hill_limits: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, SweepInputError) else 1
    limits = summarize(reports, trails, args.skills, args.seeds, steps)
    targets = check_targets(limits)
    data = {"bench": NAME, "command": sr.command_line("hill_limits.py"), "code": sr.code_of_runs(out / "runs"),
            "terrain": TERRAIN, "run_in_m": RUN_IN_M, "slope_m": SLOPE_M, "step_deg": STEP_DEG, "steps_deg": steps,
            "skills_mps": {k: sr.SKILLS[k] for k in args.skills}, "seeds": args.seeds,
            "rule": "a slope is walked when all seeds complete with no fall; the limit is the largest slope such "
                    "that it and every smaller step are walked",
            "limits": limits, "targets": targets, "runs": [sr.run_summary(r) for r in reports]}
    text = table(limits)
    docs.mkdir(parents=True, exist_ok=True)
    (docs / f"{NAME}.json").write_text(json.dumps(data, indent=2) + "\n")
    (docs / f"{NAME}.md").write_text(
        f"# Hill limits\n\nMade by `{data['command']}` (seeds {args.seeds}; code: {', '.join(data['code'])}). "
        f"{TERRAIN}: {RUN_IN_M:g} m flat run-in, then {SLOPE_M:g} m of a constant slope, in steps of {STEP_DEG:g}°. "
        f"{data['rule'].capitalize()}; a direction's steps stop at its first failure.\n\n{text}\n\n## Targets\n\n"
        + "\n".join(target_lines(targets)) + "\n")
    print(text)
    print("\n".join(target_lines(targets)))
    print(f"\n{docs / (NAME + '.json')}, .md; trails in {out / 'trails'}, runs in {out / 'runs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
