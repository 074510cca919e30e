"""Terrain x gait benchmark: does the simulator make terrain semantics matter?

For every walkable class, three skills (slow 0.5 m/s high swing, medium 1.0 m/s, fast 1.4 m/s low
swing; presets in config/gaits.yaml) walk 10 m of that terrain with three seeds (texture, bumps,
sensor noise). Prints success (reached the end), falls and achieved speed per cell and writes
docs/terrain_gait.json and docs/terrain_gait.png.

    python bench/terrain_gait.py [--seeds 3] [--workers 2] [--out docs]
"""

import argparse
import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np

SKILLS = {"slow": 0.5, "medium": 1.0, "fast": 1.4}
SEGMENT_M = 10.0


def run_cell(args):
    terrain, skill, seed = args
    from locomotion.gait import load_gait_presets
    from sim.trail import Trail, TrailSegment
    from sim.trail_walk import walk_trail_with_skill

    trail = Trail(f"bench_{terrain}", 100 + seed, (TrailSegment(terrain, SEGMENT_M),))
    result = walk_trail_with_skill(trail, load_gait_presets()[skill], SKILLS[skill], seed=seed)
    return terrain, skill, seed, {
        "completed": result.completed, "fell": result.fell, "mean_speed_mps": result.mean_speed_mps,
        "speed_ratio": result.speed_ratio, "distance_m": result.distance_m, "duration_s": result.duration_s,
    }


def plot(table, terrains, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio = np.array([[np.mean([r["speed_ratio"] for r in table[t][s]]) for s in SKILLS] for t in terrains])
    fig, ax = plt.subplots(figsize=(8, 7))
    im = ax.imshow(ratio, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for i, t in enumerate(terrains):
        for j, s in enumerate(SKILLS):
            runs = table[t][s]
            done = sum(r["completed"] for r in runs)
            falls = sum(r["fell"] for r in runs)
            ax.text(j, i, f"{np.mean([r['mean_speed_mps'] for r in runs]):.2f} m/s\n{done}/{len(runs)} ok"
                    + (f", {falls} fell" if falls else ""), ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(SKILLS)), [f"{s}\n{v} m/s" for s, v in SKILLS.items()])
    ax.set_yticks(range(len(terrains)), terrains)
    ax.set_title(f"Achieved / commanded speed, {SEGMENT_M:.0f} m of each terrain, {len(runs)} seeds")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def acceptance_checks(table) -> dict[str, bool]:
    """The consequences the trail world must show (issue 3)."""
    def failed(run):
        return run["fell"] or run["speed_ratio"] < 0.6

    return {
        "slow completes every walkable class in every seed": all(
            r["completed"] for t in table for r in table[t]["slow"]),
        "fast completes asphalt and concrete in every seed": all(
            r["completed"] for t in ("asphalt", "concrete") for r in table[t]["fast"]),
        "fast falls or makes < 60% of its command on deep_grass in >= 2 of 3 seeds": sum(
            failed(r) for r in table["deep_grass"]["fast"]) >= 2,
        "fast falls or makes < 60% of its command on mud in >= 2 of 3 seeds": sum(
            failed(r) for r in table["mud"]["fast"]) >= 2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    from sim.terrain import WALKABLE_CLASSES

    jobs = [(t, s, seed) for t in WALKABLE_CLASSES for s in SKILLS for seed in range(args.seeds)]
    table = {t: {s: [] for s in SKILLS} for t in WALKABLE_CLASSES}
    from tqdm import tqdm

    with Pool(args.workers) as pool:
        for terrain, skill, _seed, result in tqdm(pool.imap_unordered(run_cell, jobs), total=len(jobs), desc="cells"):
            table[terrain][skill].append(result)
    print(f"{'terrain':12s}" + "".join(f" {s + f' {v} m/s':>26s}" for s, v in SKILLS.items()))
    for t in WALKABLE_CLASSES:
        cells = []
        for s in SKILLS:
            runs = table[t][s]
            done = sum(r["completed"] for r in runs)
            falls = sum(r["fell"] for r in runs)
            speed = np.mean([r["mean_speed_mps"] for r in runs])
            cells.append(f"{done}/{len(runs)} ok {falls} fell {speed:4.2f} m/s")
        print(f"{t:12s}" + "".join(f" {c:>26s}" for c in cells))
    checks = acceptance_checks(table)
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "terrain_gait.json").write_text(json.dumps({"skills_mps": SKILLS, "segment_m": SEGMENT_M,
                                                       "checks": checks, "results": table}, indent=2) + "\n")
    plot(table, list(WALKABLE_CLASSES), out / "terrain_gait.png")
    print(f"wrote {out / 'terrain_gait.json'} and {out / 'terrain_gait.png'}")


if __name__ == "__main__":
    main()
