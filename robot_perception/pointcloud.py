"""Depth to point cloud, and an obstacle check along the walking corridor (after Project Guideline).

The ground is not one plane: trails climb, descend, crest and dip. The check fits a plane only to
the walkable ground near the robot (``near_ground_frame``: the frame the robot stands in), then
models the ground ahead as an elevation profile, the robust height of the walkable points in bins of
distance along the walking direction (``elevation_profile``), which bends with the trail. An
obstacle is either enough points standing more than ``min_height_m`` above that profile inside the
corridor ahead (``points_above_profile``), or walkable ground rising more steeply than the robot
could climb (``steep_rise``). Tall vegetation the robot wades through (deep grass) stands above its
ground: its points may stand ``vegetation_height_m`` higher before they count, on both rules.
Pixels the segmentation calls sky are left out: the sky has no range, and a monocular depth
estimate there is a guess (where a trail ends in open sky it guessed 3-5 m and
stopped the robot for nothing).

The camera pitches with the trunk. Given the world's up direction in the camera frame (from the
IMU's attitude and the camera's mount, ``camera_up_vector``), the check knows the slope of the
ground underfoot along the walking direction, and ground ahead is too steep where it would rise
steeper than ``max_climb_slope_deg`` in the gravity frame (``climbable_rise``): a 15 deg limit is
a 25 deg rise relative to a 10 deg descent, and a 5 deg rise relative to a 10 deg climb. Without
it (no IMU reading) the check knows only the ground underfoot, and the ground ahead may rise
relative to it by up to twice the steepest climbable slope (a descent of that slope into a climb
of it).

``corridor_reading`` says what it found and why: ``clear`` (inf), ``obstacle`` (the distance) or
``no_ground_in_view`` (NaN: too little walkable ground to model, e.g. when a boulder fills the view).
``obstacle_distance`` is the same as one number.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

CLEAR = "clear"
OBSTACLE = "obstacle"
NO_GROUND_IN_VIEW = "no_ground_in_view"
NO_CAMERA_INFO = "no_camera_info"  # the depth node's: it cannot turn depth into points without intrinsics
BAD_IMAGE = "bad_image"  # the depth node's: an image it could not decode
STATUSES = (CLEAR, OBSTACLE, NO_GROUND_IN_VIEW, NO_CAMERA_INFO, BAD_IMAGE)


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
    """config/corridor.yaml holds the shipped values and their reasons."""

    half_width_m: float = 0.35
    min_height_m: float = 0.10
    max_height_m: float = 1.0
    max_range_m: float = 6.0
    min_range_m: float = 0.5
    min_points: int = 8
    max_climb_slope_deg: float = 15.0
    bin_m: float = 0.25
    min_bin_points: int = 3
    near_ground_m: float = 1.5
    min_near_points: int = 30
    ground_half_width_m: float = 0.75
    rise_window_m: float = 1.0
    rise_tolerance_m: float = 0.10
    vegetation_height_m: dict[str, float] = dataclasses.field(default_factory=lambda: {"deep_grass": 0.20})

    def __post_init__(self) -> None:
        positive = ("half_width_m", "min_height_m", "max_range_m", "bin_m", "near_ground_m", "ground_half_width_m",
                    "rise_window_m")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        for name, height in self.vegetation_height_m.items():
            if not 0 <= height < self.max_height_m:
                raise ValueError(f"vegetation_height_m.{name}: must be in [0, max_height_m), got {height}")
        if not self.min_height_m < self.max_height_m:
            raise ValueError(f"max_height_m: must exceed min_height_m ({self.min_height_m}), got {self.max_height_m}")
        if not 0 <= self.min_range_m < self.max_range_m:
            raise ValueError(f"min_range_m: must be in [0, max_range_m), got {self.min_range_m}")
        if not 0 < self.max_climb_slope_deg < 45:
            raise ValueError(f"max_climb_slope_deg: must be in (0, 45) deg, got {self.max_climb_slope_deg}")
        for name in ("min_points", "min_bin_points", "min_near_points"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.rise_tolerance_m < 0:
            raise ValueError(f"rise_tolerance_m: must be >= 0, got {self.rise_tolerance_m}")

    @property
    def max_relative_rise(self) -> float:
        """Steepest rise (tangent) of the ground ahead relative to the ground underfoot that is still
        climbable when gravity is unknown: a descent of ``max_climb_slope_deg`` into a climb of it."""
        return math.tan(math.radians(2.0 * self.max_climb_slope_deg))


def climbable_rise(max_climb_slope_deg: float, underfoot_slope_rad: float) -> float:
    """Steepest rise (tangent) of the ground ahead relative to ground underfoot that climbs at
    ``underfoot_slope_rad`` (along the walking direction, up positive) that stays within
    ``max_climb_slope_deg`` in the gravity frame; 0 when the ground underfoot is already that steep."""
    return math.tan(max(math.radians(max_climb_slope_deg) - underfoot_slope_rad, 0.0))


def camera_up_vector(trunk_orientation_xyzw, mount_pitch_rad: float) -> np.ndarray:
    """The world's up direction in the camera optical frame (x right, y down, z forward) of a camera
    pitched down by ``mount_pitch_rad`` on a trunk (x forward, y left, z up) with the given attitude."""
    x, y, z, w = (float(v) for v in trunk_orientation_xyzw)
    # third row of the trunk's rotation matrix: the world's z axis in trunk coordinates
    up_body = np.array([2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)])
    c, s = math.cos(mount_pitch_rad), math.sin(mount_pitch_rad)
    fwd, up = c * up_body[0] - s * up_body[2], s * up_body[0] + c * up_body[2]  # into the pitched mount's axes
    return np.array([-up_body[1], -up, fwd]) / np.linalg.norm(up_body)


def load_corridor_config(path: str | Path | None = None) -> CorridorConfig:
    from locomotion.config import config_dir, load_dataclass

    return load_dataclass(CorridorConfig, path or config_dir() / "corridor.yaml")


@dataclasses.dataclass(frozen=True)
class GroundFrame:
    """The frame of the ground underfoot, in camera-frame vectors: ``up`` (unit normal), ``forward``
    (the optical axis projected onto the ground), ``lateral``, and ``offset`` (up.p + offset is a
    point's height above that ground; the camera's own height is ``offset``)."""

    up: np.ndarray
    forward: np.ndarray
    lateral: np.ndarray
    offset: float

    def coordinates(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(along, across, height) of camera-frame points."""
        return points @ self.forward, points @ self.lateral, points @ self.up + self.offset


def near_ground_frame(walkable_points: np.ndarray, near_m: float, min_points: int = 30) -> GroundFrame:
    """The plane of the walkable points within ``near_m`` of the camera (all of them when fewer than
    ``min_points`` are that near). Raises ValueError with fewer than 10 points to fit."""
    near = walkable_points[np.linalg.norm(walkable_points, axis=1) < near_m]
    normal, offset = fit_ground_plane(near if len(near) >= min_points else walkable_points)
    forward = np.array([0.0, 0.0, 1.0]) - normal * normal[2]
    forward /= np.linalg.norm(forward)
    return GroundFrame(normal, forward, np.cross(normal, forward), offset)


def bin_medians(along: np.ndarray, values: list[np.ndarray], bin_m: float, max_range_m: float,
                min_bin_points: int) -> list[np.ndarray]:
    """Per bin of ``bin_m`` along the corridor from 0 to ``max_range_m``, the median of each array in
    ``values`` over the points in the bin (NaN where fewer than ``min_bin_points`` fall).

    All bins at once: each array is sorted by (bin, value), and a bin's median is the mean of its
    middle one or two entries, as ``np.median`` takes it (NaN if the bin holds a NaN)."""
    edges = bin_m * np.arange(math.ceil(max_range_m / bin_m - 1e-9) + 1)
    n_bins = len(edges) - 1
    index = np.digitize(along, edges) - 1
    inside = (index >= 0) & (index < n_bins)
    index = index[inside]
    counts = np.bincount(index, minlength=n_bins)
    ends = np.cumsum(counts)
    starts = ends - counts
    full = np.flatnonzero(counts >= max(min_bin_points, 1))
    low, high = (starts + (counts - 1) // 2)[full], (starts + counts // 2)[full]
    out = []
    for value in values:
        ordered = value[inside][np.lexsort((value[inside], index))]
        median = np.full(n_bins, np.nan)
        middle = (ordered[low] + ordered[high]) / 2
        middle[np.isnan(ordered[ends[full] - 1])] = np.nan  # a bin's NaNs sort last
        median[full] = middle
        out.append(median)
    return out


def elevation_profile(along: np.ndarray, height: np.ndarray, bin_m: float, max_range_m: float,
                      min_bin_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The ground as knots (along, height): in each bin of ``bin_m`` from 0 to ``max_range_m``, the
    median distance and the median height of its ground points (NaN for both where fewer than
    ``min_bin_points`` fall). The medians, not the bin centre: far away a bin holds only a row or two
    of pixels, wherever in the bin they happen to fall."""
    knots_along, knots_height = bin_medians(along, [along, height], bin_m, max_range_m, min_bin_points)
    return knots_along, knots_height


def profile_height_at(knots_along: np.ndarray, knots_height: np.ndarray, along: np.ndarray) -> np.ndarray:
    """The profile's ground height at ``along``: linear between known knots, held beyond the ends."""
    known = np.isfinite(knots_height)
    return np.interp(along, knots_along[known], knots_height[known])


def steep_rise(knots_along: np.ndarray, knots_height: np.ndarray, max_rise: float, window_m: float,
               tolerance_m: float | np.ndarray, from_m: float = 0.0) -> tuple[int, int] | None:
    """Indices (i, j) of the first knot j (at or beyond ``from_m``) that stands above an earlier knot
    i within ``window_m`` by more than ``max_rise`` (a slope's tangent) times their distance plus
    ``tolerance_m`` (one for all knots, or knot j's) (the nearest such i), or None: the steep ground
    starts between them."""
    tolerance = np.broadcast_to(np.asarray(tolerance_m, dtype=float), knots_height.shape)
    known = np.flatnonzero(np.isfinite(knots_height))
    for jj, j in enumerate(known):
        if knots_along[j] < from_m:
            continue
        for i in known[:jj][::-1]:
            run = knots_along[j] - knots_along[i]
            if run > window_m:
                break
            if knots_height[j] - knots_height[i] > max_rise * run + tolerance[j]:
                return int(i), int(j)
    return None


def steep_start(knots_along: np.ndarray, knots_height: np.ndarray, i: int, j: int) -> float:
    """Where the steep rise from knot i to knot j starts: the line through them, followed back down
    to the height of the known knot before i (a kink or step inside i's bin), never before that knot
    nor beyond j."""
    known = np.flatnonzero(np.isfinite(knots_height[:i]))
    before = known[-1] if len(known) else i
    grade = (knots_height[j] - knots_height[i]) / (knots_along[j] - knots_along[i])
    start = knots_along[i] - (knots_height[i] - knots_height[before]) / grade
    return float(np.clip(start, knots_along[before], knots_along[j]))


def points_above_profile(along: np.ndarray, across: np.ndarray, height: np.ndarray, ground_height: np.ndarray,
                         config: CorridorConfig, allowance: np.ndarray | float = 0.0) -> np.ndarray:
    """Mask of the points inside the corridor standing above the ground model by more than
    ``min_height_m`` plus their ``allowance`` (a vegetation's height), and less than ``max_height_m``."""
    above = height - ground_height
    return ((above > config.min_height_m + allowance) & (above < config.max_height_m)
            & (np.abs(across) < config.half_width_m)
            & (along > config.min_range_m) & (along < config.max_range_m))


@dataclasses.dataclass
class ObstacleReport:
    distance_m: float | None  # nearest obstacle along the corridor, None if clear
    points: int  # obstacle points found (standing above the ground model)
    ground_normal: np.ndarray  # of the ground underfoot, camera frame
    steep_at_m: float | None = None  # where walkable ground starts rising too steeply, None if nowhere
    ground_seen_m: float = 0.0  # far end of the ground model (its farthest knot)


def corridor_obstacle(points: np.ndarray, walkable: np.ndarray, config: CorridorConfig = CorridorConfig(),
                      up: np.ndarray | None = None, allowance: np.ndarray | None = None) -> ObstacleReport:
    """Nearest obstacle in the corridor straight ahead of the camera; ``up`` is the world's up
    direction in the camera frame (None: unknown); ``allowance`` how far each point may stand
    above its ground because it is vegetation (None: 0). Raises ValueError when the walkable points
    are too few to model the ground."""
    allowance = np.zeros(len(points)) if allowance is None else allowance
    frame = near_ground_frame(points[walkable], config.near_ground_m, config.min_near_points)
    if up is None:
        max_rise = config.max_relative_rise
    else:
        underfoot = math.asin(float(np.clip(frame.forward @ up, -1.0, 1.0)))
        max_rise = climbable_rise(config.max_climb_slope_deg, underfoot)
    along, across, height = frame.coordinates(points)
    band = walkable & (np.abs(across) < config.ground_half_width_m)
    knots_along, knots_height, knots_allowance = bin_medians(
        along[band], [along[band], height[band], allowance[band]], config.bin_m, config.max_range_m,
        config.min_bin_points)
    if not np.isfinite(knots_height).any():
        raise ValueError("ground: no walkable ground along the corridor")
    hit = points_above_profile(along, across, height, profile_height_at(knots_along, knots_height, along), config,
                               allowance)
    # a bin of tall vegetation may stand its height above the ground before it
    steep = steep_rise(knots_along, knots_height, max_rise, config.rise_window_m,
                       config.rise_tolerance_m + np.nan_to_num(knots_allowance), from_m=config.min_range_m)
    steep_at = None if steep is None else max(steep_start(knots_along, knots_height, *steep), config.min_range_m)
    seen = float(np.nanmax(knots_along))
    n_hit = int(hit.sum())
    candidates = [d for d in (float(np.percentile(along[hit], 5)) if n_hit >= config.min_points else None, steep_at)
                  if d is not None]
    return ObstacleReport(min(candidates) if candidates else None, n_hit, frame.up, steep_at, seen)


@dataclasses.dataclass(frozen=True)
class CorridorReading:
    """One corridor check: ``distance_m`` (inf clear, metres to the obstacle, NaN unknown) and why
    (``status``, one of STATUSES); ``ground_seen_m`` is how far ahead the ground model reaches."""

    distance_m: float
    status: str
    ground_seen_m: float = 0.0

    @classmethod
    def unknown(cls, status: str) -> CorridorReading:
        return cls(float("nan"), status)


def obstacle_class_ids(class_names: tuple[str, ...]) -> tuple[list[int], tuple[int, ...]]:
    """The label ids ``obstacle_distance`` needs from a model's classes: the walkable terrains
    (all required) and the rangeless ones (sky, if the model has it)."""
    from sim.terrain import RANGELESS_CLASSES, WALKABLE_CLASSES

    walkable = [class_names.index(c) for c in WALKABLE_CLASSES]
    return walkable, tuple(class_names.index(c) for c in RANGELESS_CLASSES if c in class_names)


def vegetation_heights(class_names: tuple[str, ...], config: CorridorConfig) -> dict[int, float]:
    """Label id -> ``config.vegetation_height_m`` of the model's classes that have one."""
    unknown = sorted(set(config.vegetation_height_m) - set(class_names))
    if unknown:
        raise ValueError(f"vegetation_height_m: {', '.join(unknown)} not among the model's classes")
    return {class_names.index(name): height for name, height in config.vegetation_height_m.items()}


def corridor_reading(depth_m: np.ndarray, labels: np.ndarray, intrinsics: np.ndarray, walkable_ids: list[int],
                     config: CorridorConfig = CorridorConfig(), stride: int = 2, rangeless_ids: tuple[int, ...] = (),
                     up: np.ndarray | None = None, vegetation: dict[int, float] | None = None) -> CorridorReading:
    """The corridor check of a depth image and its labels. Pixels labelled with one of
    ``rangeless_ids`` (sky) are not surfaces and are ignored; ``up`` is the world's up direction in
    the camera frame (``camera_up_vector``; None when there is no attitude reading); ``vegetation``
    maps label ids to the height their points may stand above the ground (``vegetation_heights``)."""
    points, pixels = depth_to_points(depth_m, intrinsics, stride)
    pixel_labels = labels[pixels[:, 0], pixels[:, 1]]
    walkable = np.isin(pixel_labels, walkable_ids)
    surface = ~np.isin(pixel_labels, rangeless_ids)
    allowance = np.zeros(len(points))
    for label, height in (vegetation or {}).items():
        allowance[pixel_labels == label] = height
    try:
        report = corridor_obstacle(points[surface], walkable[surface], config, up, allowance[surface])
    except ValueError:
        return CorridorReading.unknown(NO_GROUND_IN_VIEW)
    if report.distance_m is None:
        return CorridorReading(float("inf"), CLEAR, report.ground_seen_m)
    return CorridorReading(report.distance_m, OBSTACLE, report.ground_seen_m)


def obstacle_distance(depth_m: np.ndarray, labels: np.ndarray, intrinsics: np.ndarray, walkable_ids: list[int],
                      config: CorridorConfig = CorridorConfig(), stride: int = 2, rangeless_ids: tuple[int, ...] = ()
                      ) -> float:
    """Metres to the nearest obstacle in the corridor from a depth image and its labels:
    inf when the corridor is clear, NaN when no ground is in view (unknown; ``corridor_reading``
    says why)."""
    return corridor_reading(depth_m, labels, intrinsics, walkable_ids, config, stride, rangeless_ids).distance_m
