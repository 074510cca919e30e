"""`semloco dataset` folders -> the ground-pose encoder's frames (``PoseFrames``), through the shipped
perception, with the simulator's true planes beside them.

Each frame's RGB goes through the terrain perception (its previous-mask prior reset at the start of
every burst of consecutive frames, as the dataset was captured); the depth head's depth and the
segmentation's walkable mask make the encoder's input; the camera's attitude comes from the frame's
pose (the simulated IMU is exact). The true planes are the least-squares planes
(``analytic_pose``'s) of the frame's rendered depth and labels: the ground the camera has in view in
each window (``tests/test_ground_pose.py`` checks them against the trail's geometry). Frames whose
near window shows too little walkable ground are kept (the estimator returns nothing for them at run
time) and counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from robot_perception.ground_pose import EncoderInput, analytic_pose, encoder_input, window_planes
from robot_perception.ground_pose_training import PoseFrames, poses_of_planes, predict_planes, score_poses
from sim.dataset import read_index


def camera_up(world_from_camera) -> np.ndarray:
    """The world's up direction in the camera frame of a dataset pose."""
    return np.asarray(world_from_camera)[:3, :3].T @ np.array([0.0, 0.0, 1.0])


def true_planes(view: EncoderInput) -> tuple[np.ndarray, np.ndarray]:
    """(6,) planes and (2,) seen flags of the least-squares windows of a true-depth view."""
    near, far = window_planes(view)
    planes = np.array([*(near or (0.0,) * 3), *(far or (0.0,) * 3)])
    return planes, np.array([near is not None, far is not None])


def dataset_pose_frames(folder: str | Path, perception, progress=None) -> tuple[PoseFrames, list, list[dict]]:
    """(frames, least-squares poses of the same inputs, index lines) of one dataset folder, seen
    through ``perception`` (a ``TerrainPerception``)."""
    folder = Path(folder)
    card = json.loads((folder / "dataset.json").read_text())
    index = read_index(folder)
    names = {t["name"] for t in card["trails"]}
    index = [f for f in index if f["trail"] in names]  # a trail still being written has no summary yet
    walkable_ids = [perception.class_names.index(c) for c in card["walkable_classes"]]
    views: list[EncoderInput] = []
    planes, seen = [], []
    burst = None
    for line in index:
        if (line["trail"], line["burst"]) != burst:
            perception.reset()
            burst = (line["trail"], line["burst"])
        intrinsics, up = np.array(line["intrinsics"]), camera_up(line["world_from_camera"])
        rgb = cv2.cvtColor(cv2.imread(str(folder / line["rgb"])), cv2.COLOR_BGR2RGB)
        out = perception.process(rgb)
        views.append(encoder_input(out.depth_m, np.isin(out.labels, walkable_ids), intrinsics, up))
        true_labels = cv2.imread(str(folder / line["labels"]), cv2.IMREAD_UNCHANGED)
        truth = encoder_input(np.load(folder / line["depth"]), np.isin(true_labels, walkable_ids), intrinsics, up)
        frame_planes, frame_seen = true_planes(truth)
        planes.append(frame_planes)
        seen.append(frame_seen)
        if progress is not None:
            progress(1)
    frames = PoseFrames(np.stack([v.channels for v in views]), np.stack([v.rays for v in views]),
                        np.stack([v.log_depth for v in views]), np.stack([v.near for v in views]),
                        np.stack([v.far for v in views]), np.stack(planes), np.stack(seen))
    return frames, [analytic_pose(v) for v in views], index


def evaluate_pose_models(folder: str | Path, nets: dict, perception) -> dict:
    """`semloco eval pose`: each named encoder's and the least-squares fit's errors on a dataset folder."""
    frames, least_squares, _ = dataset_pose_frames(folder, perception)
    truth = poses_of_planes(frames.planes, frames.planes_seen)
    seen = np.stack([frames.near_seen, frames.far_seen], axis=1)
    report = {"data": str(folder), "least_squares": score_poses(least_squares, truth)}
    for name, net in nets.items():
        report[name] = score_poses(poses_of_planes(predict_planes(net, frames), seen), truth)
    return report
