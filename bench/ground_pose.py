"""Ground-pose accuracy on held-out sloped trails, and the rate of perception + pose on one core.

Accuracy: `semloco eval pose`'s scores on a dataset of seeds no training or selection used (the report set;
the epoch of each encoder was chosen on another seed's frames), against the simulator's planes
(the least-squares planes of the rendered depth and labels). Rows: the shipped encoder
(`models/ground_pose.pt`), the self-supervised one (`models/ground_pose_self.pt`) and the
least-squares fit to the same perceived points (a baseline, no network).
Targets (issue 14): slope along within 1.5 deg MAE, camera height within 3 cm.

Rate: segmentation + depth (one TerrainNet pass) and the pose encoder (input construction and
the network) per frame, on one thread, over the data's RGB frames. Target: >= 30 frames/s.

    python bench/ground_pose.py --data data/pose_test [--json docs/ground_pose.json]

The dataset: `semloco dataset --out data/pose_test --trails 6 --frames-per-trail 40 --seed 402 --ray`.
"""

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from robot_perception.ground_pose import GroundPoseEstimator, load_ground_pose
from robot_perception.inference import TerrainPerception
from semantic_locomotion.ground_pose_data import camera_up, evaluate_pose_models
from sim.dataset import read_index
from sim.terrain import WALKABLE_CLASSES


def pose_rate(data: Path, perception_checkpoint: str, pose_checkpoint: str, frames: int) -> dict:
    perception = TerrainPerception(perception_checkpoint, threads=1)
    estimator = GroundPoseEstimator(pose_checkpoint, threads=1)
    walkable_ids = [perception.class_names.index(c) for c in WALKABLE_CLASSES]
    index = read_index(data)[:frames]
    images = [cv2.cvtColor(cv2.imread(str(data / f["rgb"])), cv2.COLOR_BGR2RGB) for f in index]
    ups = [camera_up(f["world_from_camera"]) for f in index]
    intrinsics = [np.array(f["intrinsics"]) for f in index]
    for image in images[:10]:
        perception.process(image)
    perceive_s, pose_s = 0.0, 0.0
    for image, up, k in zip(images, ups, intrinsics):
        start = time.perf_counter()
        out = perception.process(image)
        middle = time.perf_counter()
        estimator.estimate(out.depth_m, np.isin(out.labels, walkable_ids), k, up)
        pose_s += time.perf_counter() - middle
        perceive_s += middle - start
    n = len(images)
    return {"frames": n, "threads": 1, "perception_ms": round(1e3 * perceive_s / n, 2),
            "pose_ms": round(1e3 * pose_s / n, 2), "frames_per_s": round(n / (perceive_s + pose_s), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--perception-model", default="models/terrain_net.pt")
    parser.add_argument("--models", nargs="+", default=["models/ground_pose.pt", "models/ground_pose_self.pt"])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--json", default="docs/ground_pose.json")
    args = parser.parse_args()
    data = Path(args.data)
    nets = {Path(m).stem: load_ground_pose(m)[0] for m in args.models}
    scores = evaluate_pose_models(data, nets, TerrainPerception(args.perception_model, threads=2))
    card = json.loads((data / "dataset.json").read_text())
    rate = pose_rate(data, args.perception_model, args.models[0], args.frames)
    shipped = scores[Path(args.models[0]).stem]
    report = {"data": str(data), "dataset_seed": card["seed"], "trails": len(card["trails"]),
              "accuracy": scores, "rate": rate,
              "targets": {"slope_along_mae_deg": 1.5, "camera_height_mae_m": 0.03, "frames_per_s": 30.0},
              "met": {"slope_along": shipped["slope_along_mae_deg"] <= 1.5,
                      "camera_height": shipped["camera_height_mae_m"] <= 0.03,
                      "rate": rate["frames_per_s"] >= 30.0}}
    print(f"{'':16s} {'along deg':>9s} {'across deg':>10s} {'change deg':>10s} {'(bent)':>7s} {'height cm':>9s} "
          f"{'scored':>7s}")
    for name, row in scores.items():
        if isinstance(row, dict):
            print(f"{name:16s} {row['slope_along_mae_deg']:9.2f} {row['slope_across_mae_deg']:10.2f} "
                  f"{row['slope_change_mae_deg']:10.2f} {row['slope_change_mae_deg_where_bent']:7.2f} "
                  f"{100 * row['camera_height_mae_m']:9.2f} "
                  f"{row['scored']:4d}/{row['frames']}")
    print(f"one core: perception {rate['perception_ms']} ms + pose {rate['pose_ms']} ms "
          f"= {rate['frames_per_s']} frames/s")
    print("met:", report["met"])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
