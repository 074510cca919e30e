"""Depth to point cloud, and an obstacle check along the walking corridor (after Project Guideline).

The ground is the plane fitted (least squares, with outlier rejection) to points the segmentation
calls walkable; an obstacle is any point standing more than ``min_height_m`` above that plane
inside the corridor ahead of the camera. The check reports the nearest such distance. Pixels the
segmentation calls sky are left out: the sky has no range, and a monocular depth estimate there is
a guess (where a trail ends in open sky it guessed 3-5 m and stopped the robot for nothing).
"""

from __future__ import annotations

import dataclasses

import numpy as np


def depth_to_points(depth_m: np.ndarray, intrinsics: np.ndarray, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) points in the camera optical frame (x right, y down, z forward) for finite depths,
    and the (N, 2) pixel (row, col) of each. ``stride`` subsamples the image."""
    rows, cols = np.mgrid[0: depth_m.shape[0]: stride, 0: depth_m.shape[1]: stride]
    z = depth_m[rows, cols]
    keep = np.isfinite(z) & (z > 0)
    rows, cols, z = rows[keep], cols[keep], z[keep]
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    points = np.stack([(cols - cx) * z / fx, (rows - cy) * z / fy, z], axis=1).astype(np.float32)
    return points, np.stack([rows, cols], axis=1)


def fit_ground_plane(points: np.ndarray, iterations: int = 3, inlier_m: float = 0.05) -> tuple[np.ndarray, float]:
    """Unit normal n (pointing up, i.e. towards the camera) and offset d with n.p + d = 0."""
    if len(points) < 10:
        raise ValueError("ground: fewer than 10 walkable points to fit a plane")
    keep = np.ones(len(points), dtype=bool)
    normal, offset = np.array([0.0, -1.0, 0.0]), 0.0
    for _ in range(iterations):
        sel = points[keep]
        centroid = sel.mean(axis=0)
        _, _, vt = np.linalg.svd(sel - centroid, full_matrices=False)
        normal = vt[-1]
        if normal[1] > 0:  # camera y points down; the ground normal must point up (-y)
            normal = -normal
        offset = -float(normal @ centroid)
        keep = np.abs(points @ normal + offset) < inlier_m
        if keep.sum() < 10:
            break
    return normal, offset


@dataclasses.dataclass(frozen=True)
class CorridorConfig:
    half_width_m: float = 0.35  # A1 is 0.3 m wide; a little margin
    min_height_m: float = 0.10  # steps lower than this are terrain, not obstacles
    max_height_m: float = 1.0
    max_range_m: float = 6.0
    min_range_m: float = 0.5  # nearer points are the robot's own swinging front feet, not obstacles
    min_points: int = 8  # fewer hits than this are treated as noise


@dataclasses.dataclass
class ObstacleReport:
    distance_m: float | None  # nearest obstacle along the corridor, None if clear
    points: int  # obstacle points found
    ground_normal: np.ndarray


def corridor_obstacle(points: np.ndarray, walkable: np.ndarray, config: CorridorConfig = CorridorConfig()
                      ) -> ObstacleReport:
    """Nearest obstacle in the corridor straight ahead of the camera."""
    normal, offset = fit_ground_plane(points[walkable])
    height = points @ normal + offset
    # forward direction along the ground: the optical axis projected onto the plane
    forward = np.array([0.0, 0.0, 1.0]) - normal * normal[2]
    forward /= np.linalg.norm(forward)
    lateral = np.cross(normal, forward)
    along = points @ forward
    across = points @ lateral
    hit = ((height > config.min_height_m) & (height < config.max_height_m) & (np.abs(across) < config.half_width_m)
           & (along > config.min_range_m) & (along < config.max_range_m))
    if hit.sum() < config.min_points:
        return ObstacleReport(None, int(hit.sum()), normal)
    return ObstacleReport(float(np.percentile(along[hit], 5)), int(hit.sum()), normal)


def obstacle_class_ids(class_names: tuple[str, ...]) -> tuple[list[int], tuple[int, ...]]:
    """The label ids ``obstacle_distance`` needs from a model's classes: the walkable terrains
    (all required) and the rangeless ones (sky, if the model has it)."""
    from sim.terrain import RANGELESS_CLASSES, WALKABLE_CLASSES

    walkable = [class_names.index(c) for c in WALKABLE_CLASSES]
    return walkable, tuple(class_names.index(c) for c in RANGELESS_CLASSES if c in class_names)


def obstacle_distance(depth_m: np.ndarray, labels: np.ndarray, intrinsics: np.ndarray, walkable_ids: list[int],
                      config: CorridorConfig = CorridorConfig(), stride: int = 2, rangeless_ids: tuple[int, ...] = ()
                      ) -> float:
    """Metres to the nearest obstacle in the corridor from a depth image and its labels:
    inf when the corridor is clear, NaN when no ground is in view (unknown). Pixels labelled with
    one of ``rangeless_ids`` (sky) are not surfaces and are ignored."""
    points, pixels = depth_to_points(depth_m, intrinsics, stride)
    pixel_labels = labels[pixels[:, 0], pixels[:, 1]]
    walkable = np.isin(pixel_labels, walkable_ids)
    surface = ~np.isin(pixel_labels, rangeless_ids)
    try:
        report = corridor_obstacle(points[surface], walkable[surface], config)
    except ValueError:
        return float("nan")
    return float("inf") if report.distance_m is None else report.distance_m
