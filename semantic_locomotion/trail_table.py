"""The trail-policies report: the table of policies on trails, the acceptance checks of issue 6, and
the merge of runs made apart. One place, used by `semloco sweep` and `bench/trail_policies.py`.

A report file (``trail_policies.json``) is ``{"command": ..., "reports": [run_trail report, ...]}``;
its page (``trail_policies.md``) holds the table and a PASS/FAIL line per check.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

POLICY_ORDER = ("learned", "oracle", "fixed-slow", "fixed-medium", "fixed-fast")  # the table's row order within a trail
REPORT_JSON = "trail_policies.json"
REPORT_PAGE = "trail_policies.md"


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"- {'PASS' if self.ok else 'FAIL'}: {self.name} — {self.detail}"


def run_key(report: dict) -> tuple[str, str, int]:
    return report["trail"], report["policy"], report["seed"]


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


def worst_oracle_gap(paired: list[tuple[dict, dict]]) -> tuple[float, str]:
    """The largest per-terrain |learned - oracle| mean achieved speed over (learned, oracle) pairs."""
    worst = (0.0, "")
    for r, o in paired:
        for terrain, row in r["per_terrain"].items():
            if row["distance_m"] > 2.0 and terrain in o["per_terrain"]:
                theirs = o["per_terrain"][terrain]["mean_speed_mps"]
                gap = abs(row["mean_speed_mps"] - theirs)
                if gap > worst[0]:
                    worst = (gap, f"{r['trail']} seed {r['seed']} {terrain}: {row['mean_speed_mps']:.2f} vs "
                                  f"{theirs:.2f}")
    return worst


SLOPED_SEGMENT_DEG = 3.0  # a segment this steep or steeper counts as "on a slope"


def segment_speed_errors(run: dict, reference: dict, field: str = "mean_command_mps") -> dict:
    """Per-segment |run - reference| of ``field`` (the commanded speed by default: the speed chosen)
    over the segments both runs walked (reports with ``per_segment``, of the same trail): the mean over
    all of them, over the sloped ones (|slope| >= SLOPED_SEGMENT_DEG) and the largest, with where."""
    if run["trail"] != reference["trail"]:
        raise ValueError(f"segment errors: runs of different trails ({run['trail']}, {reference['trail']})")
    errors, sloped, worst = [], [], (0.0, "")
    for index, (a, b) in enumerate(zip(run["per_segment"], reference["per_segment"])):
        if a[field] is None or b[field] is None:
            continue  # a segment one of the runs never reached
        error = abs(a[field] - b[field])
        errors.append(error)
        if abs(a["slope_deg"]) >= SLOPED_SEGMENT_DEG:
            sloped.append(error)
        if error >= worst[0]:
            worst = (error, f"segment {index} ({a['terrain']} {a['slope_deg']:+.0f} deg): {a[field]:.2f} vs "
                            f"{b[field]:.2f}")
    mean = lambda values: float(np.mean(values)) if values else None
    return {"segments": len(errors), "mean_mps": mean(errors), "sloped_segments": len(sloped),
            "sloped_mean_mps": mean(sloped), "max_mps": worst[0], "max_at": worst[1]}


def oracle_checks(paired: list[tuple[dict, dict]]) -> list[Check]:
    """Issue "Pose inference and depth reach the speed policy": per trail, learned's average speed at
    least 97 % of the oracle's (same seeds), and on every run the per-segment commanded speed within
    0.1 m/s of the oracle's on average over the sloped segments (runs with ``per_segment`` only)."""
    checks = []
    for trail in sorted({r["trail"] for r, _ in paired}):
        pairs = [(r, o) for r, o in paired if r["trail"] == trail]
        ratio = np.mean([r["avg_speed_mps"] for r, _ in pairs]) / np.mean([o["avg_speed_mps"] for _, o in pairs])
        checks.append(Check(f"{trail}: learned average speed >= 97 % of the oracle's", bool(ratio >= 0.97),
                            f"{ratio:.1%} over {len(pairs)} seeds"))
        errors = [(segment_speed_errors(r, o), r["seed"]) for r, o in pairs
                  if "per_segment" in r and "per_segment" in o]
        sloped = [(e["sloped_mean_mps"], seed) for e, seed in errors if e["sloped_mean_mps"] is not None]
        if sloped:
            worst, seed = max(sloped)
            name = f"{trail}: learned per-segment commanded speed within 0.1 m/s of the oracle's on slopes"
            detail = f"worst run (seed {seed}) {worst:.3f} m/s, mean over the sloped segments; {len(sloped)} runs"
            checks.append(Check(name, bool(worst <= 0.1), detail))
    return checks


def acceptance(reports: list[dict], preferences: dict[str, float]) -> list[Check]:
    learned = [r for r in reports if r["policy"] == "learned"]
    checks = []
    ok = bool(learned) and all(r["completed"] and r["falls"] == 0 for r in learned)
    checks.append(Check("learned completes every run with no fall", ok,
                        f"{sum(r['completed'] for r in learned)}/{len(learned)} completed, "
                        f"{sum(r['falls'] for r in learned)} falls"))
    for kind, field in (("achieved", "mean_speed_mps"), ("commanded", "mean_command_mps")):
        gap, where = worst_preference_gap(learned, field, preferences)
        checks.append(Check(f"learned per-terrain mean {kind} speed within 0.2 m/s of the demonstrator's preference",
                            bool(learned) and gap <= 0.2, f"worst gap {gap:.2f} m/s ({where})"))
    # the trails themselves must let the preferences be reached: the demonstrator's own choices (oracle,
    # ground truth) fall short where a terrain is too short for the robot to get up to speed
    oracle_runs = [r for r in reports if r["policy"] == "oracle"]
    if oracle_runs:
        gap, where = worst_preference_gap(oracle_runs, "mean_speed_mps", preferences)
        checks.append(Check("(trail check) oracle per-terrain mean achieved speed within 0.2 m/s of the preference",
                            gap <= 0.2, f"worst gap {gap:.2f} m/s ({where})"))
    # context: how closely learned follows the demonstrator's own choices on the same trail and seed
    oracle = {(r["trail"], r["seed"]): r for r in oracle_runs}
    paired = [(r, oracle[(r["trail"], r["seed"])]) for r in learned if (r["trail"], r["seed"]) in oracle]
    if paired:
        gap, where = worst_oracle_gap(paired)
        checks.append(Check("(context) learned per-terrain mean achieved speed within 0.2 m/s of the oracle's on the "
                            "same trail and seed", gap <= 0.2,
                            f"worst gap {gap:.2f} m/s ({where}); {len(paired)} pairs"))
    checks += oracle_checks(paired)
    for trail in sorted({r["trail"] for r in reports}):
        a = [r["avg_speed_mps"] for r in learned if r["trail"] == trail]
        b = [r["avg_speed_mps"] for r in reports if r["policy"] == "fixed-slow" and r["trail"] == trail]
        if a and b:
            ratio = np.mean(a) / np.mean(b)
            checks.append(Check(f"{trail}: learned average speed >= 1.4 x fixed-slow's", bool(ratio >= 1.4),
                                f"{np.mean(a):.2f} / {np.mean(b):.2f} = {ratio:.2f}x"))
    fast = [r for r in reports if r["policy"] == "fixed-fast"]
    failed = [r for r in fast if not r["completed"]]
    checks.append(Check("fixed-fast fails (falls or does not complete) at least once", bool(failed),
                        f"{len(failed)}/{len(fast)} runs failed"))
    return checks


def table_row(trail: str, policy: str, runs: list[dict]) -> str:
    terrains = sorted({t for r in runs for t in r["per_terrain"]})
    per = "; ".join(
        f"{t} {np.mean([r['per_terrain'][t]['mean_speed_mps'] for r in runs if t in r['per_terrain']]):.2f}"
        f" / {np.mean([r['per_terrain'][t]['mean_command_mps'] for r in runs if t in r['per_terrain']]):.2f}"
        for t in terrains)
    cot = [r["cost_of_transport"] for r in runs if r["cost_of_transport"] is not None]
    done, falls = sum(r["completed"] for r in runs), sum(r["falls"] for r in runs)
    return (f"| {trail} | {policy} | {done}/{len(runs)} | {falls}"
            f" | {np.mean([r['avg_speed_mps'] for r in runs]):.2f} | "
            f"{np.mean([r['duration_s'] for r in runs]) / 60:.1f} | {np.mean(cot):.2f} | {per} |")


def table(reports: list[dict], preferences: dict[str, float]) -> str:
    """The README's table: one row per trail and policy, runs (seeds) averaged; demo first."""
    lines = ["| trail | policy | completed | falls | avg speed (m/s) | time (min) | CoT | per-terrain achieved / "
             "commanded (m/s) |", "|---|---|---|---|---|---|---|---|"]
    ordered = sorted(reports, key=run_key)  # the averages do not depend on the order the runs came in
    for trail in sorted({r["trail"] for r in ordered}, key=lambda t: (t != "demo", t)):
        for policy in POLICY_ORDER:
            runs = [r for r in ordered if r["trail"] == trail and r["policy"] == policy]
            if runs:
                lines.append(table_row(trail, policy, runs))
    prefs = ", ".join(f"{t} {v}" for t, v in preferences.items())
    return "\n".join(lines) + f"\n\nDemonstrator's preferences (m/s): {prefs}.\n"


def demonstrator_preferences() -> dict[str, float]:
    from sim.demonstrator import load_demonstrator_config

    return load_demonstrator_config().preferred_speed_mps


@dataclasses.dataclass(frozen=True)
class PolicyPage:
    table: str
    checks: list[Check]

    @property
    def all_pass(self) -> bool:
        return all(c.ok for c in self.checks)

    def check_lines(self) -> str:
        return "\n".join(c.line() for c in self.checks)


def policy_page(reports: list[dict]) -> PolicyPage:
    preferences = demonstrator_preferences()
    return PolicyPage(table(reports, preferences), acceptance(reports, preferences))


def write_policy_report(data: dict, folder: Path, plots_note: str = "") -> PolicyPage:
    """Write ``data`` ({"command", "reports"}) as ``folder``/trail_policies.json and its page
    trail_policies.md (table and checks); returns the page."""
    folder.mkdir(parents=True, exist_ok=True)
    page = policy_page(data["reports"])
    seeds = sorted({r["seed"] for r in data["reports"]})
    note = f", {plots_note}" if plots_note else ""
    atomic_write_text(folder / REPORT_JSON, json.dumps(data, indent=2) + "\n")
    atomic_write_text(folder / REPORT_PAGE,
                      f"# Policies on the trails\n\nMade by `{data['command']}` (seeds {seeds}; per-run reports in "
                      f"{REPORT_JSON} beside this page{note}).\n\n{page.table}\n## Checks\n\n"
                      + page.check_lines() + "\n")
    return page


def merge_runs(old: dict, new: dict) -> dict:
    """``old``'s runs with ``new``'s added (a run of the same trail, policy and seed is replaced), and
    both commands listed in order, once each."""
    fresh = {run_key(r) for r in new["reports"]}
    reports = [r for r in old["reports"] if run_key(r) not in fresh] + new["reports"]
    command = "; ".join(c for c in dict.fromkeys(old["command"].split("; ") + [new["command"]]) if c)
    return {"command": command, "reports": reports}


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a kill) sees the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
