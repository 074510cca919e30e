"""MELON evaluation against the turntable's true poses (never seen by training).

Pose error: mean angle between inferred and true camera directions after the one rotation about
the up axis that the images cannot determine. PSNR: the field rendered at the held-out views' true
poses, mapped into the field's frame by that same rotation, against the held-out images.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from robot_perception.melon.data import read_image
from robot_perception.melon.field import GridField, render_image
from robot_perception.melon.poses import align_longitudes


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
    return -10.0 * math.log10(max(mse, 1e-12))


def pose_errors(predicted: dict, truth: dict) -> tuple[list[str], float, np.ndarray]:
    """Image names, the aligning rotation about the up axis (radians, added to predicted longitudes)
    and the per-image angular errors (degrees) of predicted against true poses."""
    names = sorted(set(predicted) & set(truth))
    if not names:
        raise ValueError("poses: no image names in common between the run and the ground truth")
    lat_p = np.radians([predicted[n]["latitude_deg"] for n in names])
    lon_p = np.radians([predicted[n]["longitude_deg"] for n in names])
    lat_t = np.radians([truth[n]["latitude_deg"] for n in names])
    lon_t = np.radians([truth[n]["longitude_deg"] for n in names])
    delta, errors = align_longitudes(lat_p, lon_p, lat_t, lon_t)
    return names, delta, errors


def evaluate_run(run_dir: str | Path, data_dir: str | Path) -> dict:
    run_dir, data_dir = Path(run_dir), Path(data_dir)
    predicted = json.loads((run_dir / "poses.json").read_text())
    truth = json.loads((data_dir / "poses_true.json").read_text())
    names, delta, errors = pose_errors(predicted, truth)
    lat_p = np.radians([predicted[n]["latitude_deg"] for n in names])
    lon_p = np.radians([predicted[n]["longitude_deg"] for n in names])
    stage_path = run_dir / "poses_melon_stage.json"
    stage_errors = pose_errors(json.loads(stage_path.read_text()), truth)[2] if stage_path.exists() else None
    saved = torch.load(run_dir / "field.pt", map_location="cpu", weights_only=True)
    field = GridField(saved["grid_resolution"])
    field.load_state_dict(saved["field"])
    focal = (saved["size"] / 2) / math.tan(math.radians(saved["fov_deg"]) / 2)
    held = json.loads((data_dir / "held_out" / "poses.json").read_text())
    scores = []
    for name, pose in sorted(held.items()):
        lat = math.radians(pose["latitude_deg"])
        lon_field = math.radians(pose["longitude_deg"]) - delta  # true -> field frame
        image = render_image(field, lat, lon_field, saved["radius"], focal, saved["size"]).numpy()
        scores.append(psnr(image, read_image(data_dir / "held_out" / name)))
    return {
        "views": len(names),
        "alignment_deg": math.degrees(delta),
        "mean_pose_error_deg": float(np.mean(errors)),
        "median_pose_error_deg": float(np.median(errors)),
        "max_pose_error_deg": float(np.max(errors)),
        "held_out_psnr_db": float(np.mean(scores)),
        "held_out_views": len(scores),
        "melon_stage_mean_pose_error_deg": None if stage_errors is None else float(np.mean(stage_errors)),
        "per_view_error_deg": {n: float(e) for n, e in zip(names, errors)},
        "aligned_predictions_deg": {n: [float(np.degrees(a)), float(np.degrees(b + delta))]
                                    for n, a, b in zip(names, lat_p, lon_p)},
    }


def polar_plot(report: dict, truth_path: str | Path, path: str | Path, title: str) -> None:
    """Predicted (x) and true (o) cameras, like the seed's polar plot: angle = longitude,
    radius = 90 - latitude."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = json.loads(Path(truth_path).read_text())
    fig = plt.figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot(projection="polar")
    for name, (lat, lon) in report["aligned_predictions_deg"].items():
        t = truth[name]
        ax.plot(np.radians(t["longitude_deg"]), 90 - t["latitude_deg"], "o", color="tab:red", ms=4)
        ax.plot(np.radians(lon), 90 - lat, "x", color="tab:blue", ms=5)
        ax.plot([np.radians(t["longitude_deg"]), np.radians(lon)], [90 - t["latitude_deg"], 90 - lat],
                color="0.7", lw=0.5)
    ax.set_rmax(90)
    ax.set_title(f"{title}\nmean error {report['mean_pose_error_deg']:.1f} deg", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
