"""Shared part of the slope benches (`bench/slope_gait.py`, `bench/hill_limits.py`).

Both write small generated trail YAMLs into ``<out>/trails/`` and walk them with the three fixed
skills on the sweep runner (`semantic_locomotion.sweep`: Ray tasks, one CPU each, one JSON per run in
``<out>/runs/``, finished runs skipped when a bench is started again). The trails are passed to the
sweep as paths relative to the repository root (the driver runs from there), so the run ids are
short and do not depend on where the checkout lies: ``out-slope_gait-trails-slope_sand_m5.yaml__fixed-slow__seed0``.

A skill is the sweep policy ``fixed-<skill>`` (sim/trail_run.py FIXED_SKILLS: slow 0.5 m/s with the
slow gait, medium 1.0 m/s, fast 1.4 m/s; presets in config/gaits.yaml).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SKILLS = {"slow": 0.5, "medium": 1.0, "fast": 1.4}  # commanded speed (m/s), as FIXED_SKILLS has them
TRAIL_SEED = 100  # the trails' own seed (ground details); each run adds 1000 x its seed (sim.trail_run)


def add_run_arguments(parser, name: str) -> None:
    """The arguments both slope benches take: skills, seeds, where Ray runs, where files go."""
    parser.add_argument("--skills", nargs="+", default=list(SKILLS), choices=list(SKILLS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cpus", type=int, default=1, help="CPUs of the local Ray (one run each)")
    parser.add_argument("--address", help="Ray cluster to run on (default: RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--out", default=str(ROOT / "out" / name), help="trails/ and runs/ go here")
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def policy_of(skill: str) -> str:
    return f"fixed-{skill}"


def skill_of(policy: str) -> str:
    return policy.removeprefix("fixed-")


def slope_label(slope_deg: float) -> str:
    """``+10 -> p10``, ``-2.5 -> m2.5``, ``0 -> 0``: a trail-name part (no sign characters)."""
    if slope_deg == 0:
        return "0"
    magnitude = abs(slope_deg)
    text = f"{magnitude:g}"
    return ("p" if slope_deg > 0 else "m") + text


def slope_changes(segments: list[dict]) -> list[dict]:
    """The kinks of a piecewise-planar trail: where the slope changes, ``at_m`` along the trail and
    the change (deg). A change upwards (the slope grows: flat into a climb, a descent into flat) is a
    dip; downwards (a climb into flat, flat into a descent) is a crest."""
    out, at = [], 0.0
    for before, after in itertools.pairwise(segments):
        at += float(before["length_m"])
        change = float(after.get("slope_deg", 0.0)) - float(before.get("slope_deg", 0.0))
        if change:
            out.append({"at_m": at, "kind": "dip" if change > 0 else "crest", "change_deg": change})
    return out


def write_trail(trail: dict, folder: Path) -> Path:
    """``trail`` (a trail YAML mapping) as ``folder/<name>.yaml``, checked by the trail loader."""
    from sim.trail import trail_from_dict

    trail_from_dict(trail, trail["name"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{trail['name']}.yaml"
    text = yaml.safe_dump(trail, sort_keys=False)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def sweep_path(path: Path) -> str:
    """The trail's path as the sweep is given it: relative to the repository root when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path.resolve())


def connect(cpus: int, address: str | None):
    """A RaySession on ``cpus`` local CPUs, or on the cluster at ``address`` / RAY_ADDRESS."""
    from semantic_locomotion.sweep import RaySession

    cluster = address or os.environ.get("RAY_ADDRESS")
    return RaySession(address, None if cluster else cpus)


def walk(trail_paths: Iterable[str], skills: Iterable[str], seeds: Iterable[int], runs_dir: Path,
         quiet: bool = False) -> list[dict]:
    """Every (trail, skill, seed) run through the sweep (Ray must be connected); the reports in grid
    order. Raises the sweep's SweepInputError / SweepFailed."""
    from semantic_locomotion.sweep import SweepGrid, run_sweep, validate_grid

    grid = SweepGrid(tuple(trail_paths), tuple(policy_of(s) for s in skills), tuple(seeds))
    validate_grid(grid)
    return run_sweep(grid.runs(), runs_dir, None, quiet)


def command_line(script: str) -> str:
    return f"python bench/{script} " + " ".join(sys.argv[1:])


def code_of_runs(runs_dir: Path) -> list[str]:
    """The distinct ``code`` identities of the run files in ``runs_dir`` (what made the numbers)."""
    codes = set()
    for path in sorted(runs_dir.glob("*.json")):
        try:
            codes.add(json.loads(path.read_text()).get("code", "unknown"))
        except (OSError, json.JSONDecodeError):
            continue
    return sorted(codes)


def run_summary(report: dict) -> dict:
    """The fields of a run report the benches keep."""
    return {key: report.get(key) for key in ("trail", "policy", "seed", "completed", "falls", "end_reason",
                                               "avg_speed_mps", "distance_m", "duration_s", "trail_length_m")}


def passes(report: dict) -> bool:
    """A run walks its trail: reached the end and never fell."""
    return bool(report["completed"]) and int(report["falls"]) == 0
