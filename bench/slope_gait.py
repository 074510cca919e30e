"""Slope x terrain x gait bench (issue "Hills"): the three skills on climbs and descents.

Each cell is a skill (slow 0.5 m/s, medium 1.0, fast 1.4; fixed speed and gait, the sweep's
``fixed-<skill>`` policies) on one terrain (asphalt, gravel, grass, sand) and one slope (-10, -5,
+5, +10 deg), walked with 3 seeds. Its trail is one terrain throughout: 4 m flat, 10 m at the slope,
4 m flat. A climb is so entered over a dip and left over a crest, a descent entered over a crest
and left over a dip (the trail YAMLs are written to <out>/trails/, e.g. slope_gravel_m10.yaml).

The runs go through the sweep runner (Ray, one CPU a run, one JSON per run in <out>/runs/, finished
runs skipped when the bench is started again; a run made by other code is run again). Prints and
writes the table (completed / falls / achieved speed, the run's distance over its duration, per
cell) to docs/slope_gait.json, docs/slope_gait.md and docs/slope_gait.png, and each target as
met/MISSED with the cells that miss it:

- slow completes every cell with 0 falls;
- fast completes every rigid-terrain cell (asphalt, gravel) up to +-5 deg;
- medium completes every cell up to +-10 deg (all four terrains).

A cell meets a target when all its seeds complete with no fall.

    python bench/slope_gait.py [--seeds 0 1 2] [--cpus 1] [--out out/slope_gait] [--docs docs]
    python bench/slope_gait.py --skills slow --terrains asphalt --slopes 5 --seeds 0   # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slope_runs as sr

TERRAINS = ("asphalt", "gravel", "grass", "sand")
SLOPES_DEG = (-10.0, -5.0, 5.0, 10.0)
FLAT_M = 4.0
SLOPE_M = 10.0
RIGID = ("asphalt", "gravel")
NAME = "slope_gait"


def slope_trail(terrain: str, slope_deg: float, seed: int = sr.TRAIL_SEED) -> dict:
    """The cell's trail: 4 m flat, 10 m at ``slope_deg``, 4 m flat, all ``terrain``."""
    return {"name": f"slope_{terrain}_{sr.slope_label(slope_deg)}", "seed": seed, "segments": [
        {"terrain": terrain, "length_m": FLAT_M},
        {"terrain": terrain, "length_m": SLOPE_M, "slope_deg": float(slope_deg)},
        {"terrain": terrain, "length_m": FLAT_M}]}


def cell_key(skill: str, terrain: str, slope_deg: float) -> str:
    return f"{skill}/{terrain}/{slope_deg:+g}"


def summarize_cells(reports: list[dict], trails: dict[str, tuple[str, float]]) -> dict[str, dict]:
    """Per cell (``skill/terrain/slope``): runs, completed, falls, mean achieved speed, end reasons,
    and ``ok`` (every run completed with no fall). ``trails`` maps a trail name to (terrain, slope)."""
    grouped: dict[str, list[dict]] = {}
    for r in reports:
        terrain, slope = trails[r["trail"]]
        grouped.setdefault(cell_key(sr.skill_of(r["policy"]), terrain, slope), []).append(r)
    cells = {}
    for key, runs in grouped.items():
        skill, terrain, slope = key.split("/")
        cells[key] = {
            "skill": skill, "terrain": terrain, "slope_deg": float(slope), "runs": len(runs),
            "completed": sum(bool(r["completed"]) for r in runs), "falls": sum(int(r["falls"]) for r in runs),
            "achieved_speed_mps": float(np.mean([r["avg_speed_mps"] for r in runs])),
            "end_reasons": sorted(r["end_reason"] for r in runs),
            "seeds": sorted(r["seed"] for r in runs), "passed": sum(sr.passes(r) for r in runs),
            "ok": all(sr.passes(r) for r in runs)}
    return cells


TARGETS = (
    ("slow completes every cell with 0 falls", lambda c: c["skill"] == "slow"),
    ("fast completes every rigid-terrain cell (asphalt, gravel) up to +-5 deg",
     lambda c: c["skill"] == "fast" and c["terrain"] in RIGID and abs(c["slope_deg"]) <= 5.0),
    ("medium completes every cell up to +-10 deg (all four terrains)",
     lambda c: c["skill"] == "medium" and abs(c["slope_deg"]) <= 10.0),
)


def check_targets(cells: dict[str, dict], expected: list[str] | None = None) -> list[dict]:
    """Each target: the cells it covers, the ones that miss it (a run that did not complete or fell),
    and whether it is met. A target with no cell, or with a cell of ``expected`` (the full grid's
    keys) not yet walked, is not met."""
    out = []
    for name, covers in TARGETS:
        mine = {k: c for k, c in cells.items() if covers(c)}
        missing = [k for k in (expected or []) if k not in cells and covers(_key_fields(k))]
        failing = [k for k, c in mine.items() if not c["ok"]]
        out.append({"target": name, "met": bool(mine) and not failing and not missing, "cells": len(mine),
                    "failing_cells": failing, "not_walked": missing})
    return out


def _key_fields(key: str) -> dict:
    skill, terrain, slope = key.split("/")
    return {"skill": skill, "terrain": terrain, "slope_deg": float(slope)}


def target_lines(targets: list[dict]) -> list[str]:
    lines = []
    for t in targets:
        detail = f"{t['cells']} cells" if t["cells"] else "no cell walked"
        if t["failing_cells"]:
            detail += "; missed by " + ", ".join(t["failing_cells"])
        if t["not_walked"]:
            detail += "; not walked: " + ", ".join(t["not_walked"])
        lines.append(f"- {'met' if t['met'] else 'MISSED'}: {t['target']} ({detail})")
    return lines


def cell_text(cell: dict | None) -> str:
    if cell is None:
        return "—"
    return f"{cell['completed']}/{cell['runs']}, {cell['falls']} fell, {cell['achieved_speed_mps']:.2f} m/s"


def table(cells: dict[str, dict], skills, terrains, slopes) -> str:
    """Markdown: one row per skill and terrain, one column per slope; a cell is completed/runs,
    falls and the mean achieved speed (m/s)."""
    head = "| skill | terrain | " + " | ".join(f"{s:+g}°" for s in slopes) + " |"
    lines = [head, "|---|---|" + "---|" * len(slopes)]
    for skill in skills:
        for terrain in terrains:
            row = [cell_text(cells.get(cell_key(skill, terrain, s))) for s in slopes]
            lines.append(f"| {skill} {sr.SKILLS[skill]} m/s | {terrain} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot(cells: dict[str, dict], skills, terrains, slopes, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(skills), figsize=(4.2 * len(skills) + 1.5, 4.4), squeeze=False, sharey=True)
    im = None
    for ax, skill in zip(axes[0], skills):
        share = np.full((len(terrains), len(slopes)), np.nan)  # runs that completed with no fall / runs
        for i, terrain in enumerate(terrains):
            for j, slope in enumerate(slopes):
                cell = cells.get(cell_key(skill, terrain, slope))
                if cell is None:
                    continue
                share[i, j] = cell["passed"] / cell["runs"]
                text = f"{cell['achieved_speed_mps']:.2f} m/s\n{cell['completed']}/{cell['runs']}"
                text += f" {cell['falls']}F" if cell["falls"] else ""
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        fontweight="normal" if cell["ok"] else "bold")
        im = ax.imshow(share, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(slopes)), [f"{s:+g}°" for s in slopes])
        ax.set_yticks(range(len(terrains)), terrains)  # shared: labelled on the first panel only
        ax.set_title(f"{skill} ({sr.SKILLS[skill]} m/s)")
    fig.suptitle(f"Achieved speed (m/s), completed/runs, falls (F): {FLAT_M:g} m flat, {SLOPE_M:g} m at the slope, "
                 f"{FLAT_M:g} m flat;\ncolour: share of runs that completed with no fall; bold: a cell that fails",
                 fontsize=9, y=1.04)
    if im is not None:
        fig.colorbar(im, ax=axes[0].tolist(), fraction=0.03)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def write_outputs(data: dict, docs: Path, cells, targets, skills, terrains, slopes) -> str:
    docs.mkdir(parents=True, exist_ok=True)
    text = table(cells, skills, terrains, slopes)
    (docs / f"{NAME}.json").write_text(json.dumps(data, indent=2) + "\n")
    (docs / f"{NAME}.md").write_text(
        f"# Slope x terrain x gait\n\nMade by `{data['command']}` (seeds {data['seeds']}; code: "
        f"{', '.join(data['code'])}). Each cell: {FLAT_M:g} m flat, {SLOPE_M:g} m at the slope, {FLAT_M:g} m flat of "
        f"one terrain (a climb entered over a dip and left over a crest, a descent the other way round); "
        f"completed/runs, falls, mean achieved speed over the whole trail (distance / duration).\n\n{text}\n\n"
        "## Targets\n\n" + "\n".join(target_lines(targets)) + "\n")
    plot(cells, skills, terrains, slopes, docs / f"{NAME}.png")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sr.add_run_arguments(parser, NAME)
    parser.add_argument("--terrains", nargs="+", default=list(TERRAINS))
    parser.add_argument("--slopes", nargs="+", type=float, default=list(SLOPES_DEG))
    parser.add_argument("--from-json", action="store_true",
                        help="remake the page and plot from <docs>/slope_gait.json (no runs)")
    args = parser.parse_args()
    from semantic_locomotion.sweep import SweepFailed, SweepInputError

    if args.from_json:
        data = json.loads((Path(args.docs) / f"{NAME}.json").read_text())
        print(write_outputs(data, Path(args.docs), data["cells"], data["targets"], list(data["skills_mps"]),
                            data["terrains"], data["slopes_deg"]))
        print("\n".join(target_lines(data["targets"])))
        return 0

    out, docs = Path(args.out).resolve(), Path(args.docs).resolve()
    import os

    os.chdir(sr.ROOT)  # the trails go to the sweep as paths relative to the repository root
    trails, paths = {}, []
    for terrain in args.terrains:
        for slope in args.slopes:
            trail = slope_trail(terrain, slope)
            trails[trail["name"]] = (terrain, slope)
            paths.append(sr.sweep_path(sr.write_trail(trail, out / "trails")))
    try:
        with sr.connect(args.cpus, args.address):
            reports = sr.walk(paths, args.skills, args.seeds, out / "runs", args.quiet)
    except (SweepInputError, SweepFailed) as exc:
        print(f"slope_gait: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, SweepInputError) else 1
    cells = summarize_cells(reports, trails)
    expected = [cell_key(k, t, s) for k in args.skills for t in args.terrains for s in args.slopes]
    targets = check_targets(cells, expected)
    data = {"bench": NAME, "command": sr.command_line("slope_gait.py"), "code": sr.code_of_runs(out / "runs"),
            "skills_mps": {k: sr.SKILLS[k] for k in args.skills}, "terrains": args.terrains, "slopes_deg": args.slopes,
            "seeds": args.seeds, "trail": {"flat_m": FLAT_M, "slope_m": SLOPE_M, "flat_after_m": FLAT_M},
            "trails": {name: slope_trail(*ts) for name, ts in trails.items()},
            "cells": cells, "targets": targets, "runs": [sr.run_summary(r) for r in reports]}
    text = write_outputs(data, docs, cells, targets, args.skills, args.terrains, args.slopes)
    print(text)
    print("\n".join(target_lines(targets)))
    print(f"\n{docs / (NAME + '.json')}, .md, .png; trails in {out / 'trails'}, runs in {out / 'runs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
