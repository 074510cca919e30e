"""What a trail traversal is judged by: the JSON report and the speed-along-the-trail plot.

``TrailSample`` rows are logged along the way (10 per second); ``summarize`` turns them into the
report (the fields `semloco trail --json` promises) and ``plot_run`` draws commanded and achieved
speed against distance over bands coloured like the terrains, as in the seed's figure.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from sim.trail import Trail
import itertools

REQUIRED_FIELDS = ("completed", "falls", "distance_m", "duration_s", "avg_speed_mps", "per_terrain",
                   "cost_of_transport", "real_time_factor")


@dataclasses.dataclass
class TrailSample:
    time_s: float  # walking time (after stand-up)
    distance_m: float  # trunk x along the trail
    lateral_m: float
    terrain: str  # ground truth under the trunk
    commanded_mps: float  # the speed policy's command
    achieved_mps: float  # ground-truth forward speed of the trunk
    swing_height_m: float  # the gait in use (as blended by the scheduler)
    stepping_frequency_hz: float


def per_terrain_speeds(samples: list[TrailSample]) -> dict:
    """For each terrain: distance covered on it, time spent, mean achieved speed (distance/time)
    and mean commanded speed, from consecutive samples (each interval goes to its start's terrain)."""
    table: dict[str, dict] = {}
    for a, b in itertools.pairwise(samples):
        row = table.setdefault(a.terrain, {"distance_m": 0.0, "duration_s": 0.0, "_command_s": 0.0})
        dt = b.time_s - a.time_s
        row["distance_m"] += b.distance_m - a.distance_m
        row["duration_s"] += dt
        row["_command_s"] += a.commanded_mps * dt
    out = {}
    for terrain, row in table.items():
        t = row["duration_s"]
        out[terrain] = {"mean_speed_mps": row["distance_m"] / t if t > 0 else 0.0,
                        "mean_command_mps": row["_command_s"] / t if t > 0 else 0.0,
                        "distance_m": row["distance_m"], "duration_s": t}
    return out


def per_segment_speeds(samples: list[TrailSample], trail: Trail) -> list[dict]:
    """For each segment of the trail, in order: its terrain and slope, and the distance covered,
    time spent and mean achieved and commanded speed on it (intervals go to their start's segment,
    as in ``per_terrain_speeds``); a segment the run never reached has duration 0 and speeds None."""
    starts = trail.segment_starts_m
    rows = [{"terrain": seg.terrain, "slope_deg": seg.slope_deg, "start_m": float(start), "length_m": seg.length_m,
             "distance_m": 0.0, "duration_s": 0.0, "_command_s": 0.0} for start, seg in zip(starts, trail.segments)]
    for a, b in itertools.pairwise(samples):
        index = int(np.searchsorted(starts, a.distance_m, side="right")) - 1
        row = rows[min(max(index, 0), len(rows) - 1)]
        dt = b.time_s - a.time_s
        row["distance_m"] += b.distance_m - a.distance_m
        row["duration_s"] += dt
        row["_command_s"] += a.commanded_mps * dt
    for row in rows:
        t = row["duration_s"]
        row["mean_speed_mps"] = row["distance_m"] / t if t > 0 else None
        row["mean_command_mps"] = row.pop("_command_s") / t if t > 0 else None
    return rows


def summarize(samples: list[TrailSample], *, trail: Trail, policy: str, seed: int, completed: bool, fell: bool,
              end_reason: str, energy_j: float, weight_n: float, sim_time_s: float, wall_time_s: float,
              extra: dict | None = None) -> dict:
    start, end = samples[0], samples[-1]
    distance = end.distance_m - start.distance_m
    duration = end.time_s - start.time_s
    return {
        "trail": trail.name, "trail_length_m": trail.length_m, "policy": policy, "seed": seed,
        "completed": bool(completed), "falls": int(fell), "end_reason": end_reason,
        "distance_m": distance, "duration_s": duration,
        # the farthest point reached: a robot stopped on a slope (for an obstacle) steps in place and
        # may slide back before the run ends, so its end point is not where it stopped
        "farthest_m": max(s.distance_m for s in samples) - start.distance_m,
        "avg_speed_mps": distance / duration if duration > 0 else 0.0,
        "per_terrain": per_terrain_speeds(samples),
        "per_segment": per_segment_speeds(samples, trail),
        "cost_of_transport": energy_j / (weight_n * distance) if distance > 0.05 else None,
        "max_lateral_offset_m": max(abs(s.lateral_m) for s in samples),
        "real_time_factor": sim_time_s / wall_time_s if wall_time_s > 0 else None,
        **(extra or {}),
    }


def write_samples(samples: list[TrailSample], path: str | Path) -> None:
    rows = [dataclasses.asdict(s) for s in samples]
    Path(path).write_text(json.dumps(rows))


def plot_run(report: dict, samples: list[TrailSample], trail: Trail, path: str | Path) -> None:
    """Commanded and achieved speed along the trail over coloured terrain bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.terrain import load_terrain_catalogue

    catalogue = load_terrain_catalogue()
    x = np.array([s.distance_m for s in samples])
    fig, (ax, ax_gait) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, height_ratios=[3, 1])
    starts = trail.segment_starts_m
    seen = set()
    for start, seg in zip(starts, trail.segments):
        colour = catalogue.walkable[seg.terrain].appearance.base_rgb
        label = seg.terrain.replace("_", " ") if seg.terrain not in seen else None
        seen.add(seg.terrain)
        for a in (ax, ax_gait):
            a.axvspan(start, start + seg.length_m, color=colour, alpha=0.35, lw=0, label=label if a is ax else None)
    ax.plot(x, [s.commanded_mps for s in samples], color="tab:blue", lw=1.5, label="commanded")
    ax.plot(x, [s.achieved_mps for s in samples], color="black", lw=0.8, alpha=0.8, label="achieved")
    ax.set_ylabel("forward speed (m/s)")
    ax.set_ylim(0, max(1.8, max(s.commanded_mps for s in samples) + 0.2))
    outcome = "completed" if report["completed"] else f"not completed ({report['end_reason']})"
    ax.set_title(f"{report['policy']} on {report['trail']} (seed {report['seed']}): {outcome}, "
                 f"{report['distance_m']:.0f} m in {report['duration_s'] / 60:.1f} min, "
                 f"average {report['avg_speed_mps']:.2f} m/s")
    ax.legend(loc="upper right", ncol=4, fontsize=8)
    ax_gait.plot(x, [s.swing_height_m * 100 for s in samples], color="tab:green", label="swing height (cm)")
    ax_gait.plot(x, [s.stepping_frequency_hz for s in samples], color="tab:red", label="stepping frequency (Hz)")
    ax_gait.set_xlabel("distance along the trail (m)")
    ax_gait.legend(loc="upper right", ncol=2, fontsize=8)
    ax_gait.set_xlim(0, trail.length_m)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
