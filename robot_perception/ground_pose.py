"""Terrain-relative pose of the camera, MELON-style: a very small CNN, trained from scratch.

What is inferred, per camera frame, in the gravity frame of the walking direction (``GravityFrame``:
``forward`` the optical axis made horizontal, ``lateral`` to the right, ``up`` against gravity, all
as camera-frame vectors from the IMU's attitude):

- the plane of the ground 0.5-2 m ahead (the *near* window, by horizontal distance from the camera):
  ``slope_along_deg`` (positive: the ground climbs ahead), ``slope_across_deg`` (positive: it rises
  to the right) and ``camera_height_m``, the camera's height above that plane (straight down under
  the camera, where the plane is extended back);
- the plane of the ground 2-3.5 m ahead (the *far* window), reported as ``slope_change_deg`` (far
  slope minus near slope: negative at a crest, positive at a dip) and ``far_seen`` (whether enough
  of that ground is in view; past a crest it drops out of sight).

A window's plane in gravity coordinates (s ahead, w right, h up, camera at the origin) is
``h = -H + s tan(a) + w tan(b)``. A pixel's ray r (camera frame, r_z = 1) meets it at depth
``t = H / (tan(a) r.f + tan(b) r.l - r.u)`` (``plane_depth``): the renderer of the rendering loss.

The encoder (``GroundPoseNet``) sees the frame through the perception model: per pixel, the ground
coordinates (s, w, h) of the depth head's depth where the segmentation says walkable ground, zero
elsewhere, and a mask channel (``encoder_input``). It is trained either

- self-supervised (``rendering_loss``): the planes it infers are rendered into a depth image and
  compared (log depth, robust) with the depth head's depth on the walkable pixels of each window:
  no pose labels, only the robot's own frames, as MELON replaces pose labels by a rendering loss; or
- on simulator labels (the trail's true geometry, ``label_loss``), for comparison.

MELON's modulo loss resolves a pseudo-symmetry of object views (several poses explain one image).
Here the IMU's gravity and the metric depth leave no such ambiguity (one plane explains a window's
points), so there are no replicas: the note in ``models/ground_pose.md`` says so.

``fit_window_plane`` is the same quantity by least squares on the same points (a baseline the
bench reports beside the network, and the reference of the tests).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semantic_locomotion.checkpoint_file import read_checkpoint, write_checkpoint

FORMAT = "semantic_locomotion.ground_pose.v1"
NEAR_WINDOW_M = (0.5, 2.0)
FAR_WINDOW_M = (2.0, 3.5)
MIN_WINDOW_POINTS = 40  # fewer walkable points in a window than this: the window is not seen
INPUT_STRIDE = 2  # the encoder sees every second row and column of the perception's output
CHANNEL_SCALES_M = (4.0, 2.0, 1.0)  # the input channels are s, w, h divided by these
# the network's output -> plane parameters: H = H0 + H_SCALE * o, tan = TAN_SCALE * o
HEIGHT_PRIOR_M, HEIGHT_SCALE_M, TAN_SCALE = 0.35, 0.1, 0.25
POSE_VECTOR_FIELDS = ("slope_along_deg", "slope_across_deg", "slope_change_deg", "camera_height_m", "far_seen")


class GroundPoseError(ValueError):
    """A ground-pose checkpoint or input the estimator cannot use."""


@dataclasses.dataclass(frozen=True)
class GravityFrame:
    forward: np.ndarray
    lateral: np.ndarray
    up: np.ndarray

    def coordinates(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 3) gravity coordinates (s ahead, w right, h up)."""
        return np.stack([points @ self.forward, points @ self.lateral, points @ self.up], axis=-1)


def gravity_frame(up: np.ndarray) -> GravityFrame:
    """The walking direction's gravity frame from the world's up direction in the camera frame."""
    up = np.asarray(up, dtype=float) / np.linalg.norm(up)
    forward = np.array([0.0, 0.0, 1.0]) - up * up[2]
    norm = np.linalg.norm(forward)
    if norm < 1e-6:
        raise GroundPoseError("up: the camera looks straight up or down; no walking direction")
    forward /= norm
    return GravityFrame(forward, np.cross(forward, up), up)


def pixel_rays(intrinsics: np.ndarray, height: int, width: int, stride: int = 1) -> np.ndarray:
    """(H/stride, W/stride, 3) camera-frame rays with z = 1 through the pixel centres used."""
    rows, cols = np.mgrid[0:height:stride, 0:width:stride].astype(float)
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    return np.stack([(cols - cx) / fx, (rows - cy) / fy, np.ones_like(rows)], axis=-1)


def plane_depth(height_m, tan_along, tan_across, ray_f, ray_l, ray_u):
    """Depth along the optical axis where rays meet the plane h = -H + s tan_along + w tan_across
    (numpy or torch; inf/negative where a ray never meets it: the caller masks those)."""
    return height_m / (tan_along * ray_f + tan_across * ray_l - ray_u)


def fit_window_plane(coords: np.ndarray, window_m: tuple[float, float], min_points: int = MIN_WINDOW_POINTS,
                     iterations: int = 2, inlier_m: float = 0.05) -> tuple[float, float, float] | None:
    """Least-squares plane (H, tan_along, tan_across) of the (N, 3) gravity coordinates whose s lies
    in ``window_m``, refitted on the points within ``inlier_m`` of the previous fit; None if fewer
    than ``min_points``."""
    inside = coords[(coords[:, 0] >= window_m[0]) & (coords[:, 0] < window_m[1])]
    if len(inside) < min_points:
        return None
    design = np.stack([-np.ones(len(inside)), inside[:, 0], inside[:, 1]], axis=1)
    keep = np.ones(len(inside), dtype=bool)
    for _ in range(iterations + 1):
        solution, *_ = np.linalg.lstsq(design[keep], inside[keep, 2], rcond=None)
        residual = np.abs(design @ solution - inside[:, 2])
        refit = residual < max(inlier_m, float(np.percentile(residual, 50)))
        if refit.sum() < min_points:
            break
        keep = refit
    return float(solution[0]), float(solution[1]), float(solution[2])


@dataclasses.dataclass(frozen=True)
class GroundPose:
    slope_along_deg: float
    slope_across_deg: float
    slope_change_deg: float  # NaN when the far window is not seen
    camera_height_m: float
    far_seen: bool

    @classmethod
    def from_planes(cls, near: tuple[float, float, float], far: tuple[float, float, float] | None) -> GroundPose:
        along = math.degrees(math.atan(near[1]))
        change = math.degrees(math.atan(far[1])) - along if far is not None else math.nan
        return cls(along, math.degrees(math.atan(near[2])), change, near[0], far is not None)

    def fields(self) -> np.ndarray:
        """POSE_VECTOR_FIELDS as a float32 array (slope change NaN when the far window is not seen):
        what the pose node publishes (the speed policy's input is ``locomotion.speed_policy.pose_input``)."""
        return np.array([self.slope_along_deg, self.slope_across_deg, self.slope_change_deg, self.camera_height_m,
                         float(self.far_seen)], dtype=np.float32)


def ground_frame_in_camera(pose: GroundPose, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(origin (3,), rotation (3, 3)) of the near ground's frame in the camera's optical frame: x along
    the ground in the walking direction, y to the left, z the ground's normal (REP-103), origin the
    ground's point straight below the camera (along gravity; ``up`` as for ``gravity_frame``)."""
    frame = gravity_frame(up)
    tan_along, tan_across = math.tan(math.radians(pose.slope_along_deg)), math.tan(math.radians(pose.slope_across_deg))
    normal = frame.up - tan_along * frame.forward - tan_across * frame.lateral
    normal /= np.linalg.norm(normal)
    x = frame.forward + tan_along * frame.up  # on the plane: h rises by tan(along) per metre ahead
    x /= np.linalg.norm(x)
    return -pose.camera_height_m * frame.up, np.column_stack([x, np.cross(normal, x), normal])


def window_mask(s: np.ndarray, walkable: np.ndarray, window_m: tuple[float, float]) -> np.ndarray:
    return walkable & (s >= window_m[0]) & (s < window_m[1])


@dataclasses.dataclass
class EncoderInput:
    """One frame as the encoder sees it, plus what its rendering loss compares against."""

    channels: np.ndarray  # (4, h, w) float32: s/4, w/2, h, mask (0 off the walkable ground)
    rays: np.ndarray  # (3, h, w) float32: r.f, r.l, r.u of each pixel's ray
    log_depth: np.ndarray  # (h, w) float32: the depth head's log depth (0 where not walkable)
    near: np.ndarray  # (h, w) bool: walkable pixels in the near window
    far: np.ndarray  # (h, w) bool: walkable pixels in the far window

    def points(self) -> np.ndarray:
        """(N, 3) gravity coordinates (s, w, h) of the walkable pixels."""
        coords = np.moveaxis(self.channels[:3], 0, -1) * np.array(CHANNEL_SCALES_M, dtype=np.float32)
        return coords[self.channels[3] > 0]


def encoder_input(depth_m: np.ndarray, walkable: np.ndarray, intrinsics: np.ndarray, up: np.ndarray,
                  stride: int = INPUT_STRIDE) -> EncoderInput:
    """The encoder's view of one frame: ``depth_m`` (H, W) from the depth head, ``walkable`` (H, W)
    the segmentation's walkable-ground mask, ``up`` the world's up direction in the camera frame."""
    frame = gravity_frame(up)
    rays = pixel_rays(intrinsics, *depth_m.shape, stride)
    depth = depth_m[::stride, ::stride]
    mask = walkable[::stride, ::stride] & np.isfinite(depth) & (depth > 0)
    dots = frame.coordinates(rays)
    coords = dots * np.where(mask, depth, 0.0)[..., None]  # zero off the walkable ground
    channels = np.concatenate([np.moveaxis(coords / np.array(CHANNEL_SCALES_M), -1, 0), mask[None].astype(float)])
    log_depth = np.log(np.where(mask, depth, 1.0))  # 0 off the walkable ground
    return EncoderInput(channels.astype(np.float32), np.moveaxis(dots, -1, 0).astype(np.float32),
                        log_depth.astype(np.float32), window_mask(coords[..., 0], mask, NEAR_WINDOW_M),
                        window_mask(coords[..., 0], mask, FAR_WINDOW_M))


def window_planes(view: EncoderInput) -> tuple[tuple[float, float, float] | None, tuple[float, float, float] | None]:
    """The least-squares (near, far) planes of a frame's encoder input (None: too few points)."""
    points = view.points()
    return fit_window_plane(points, NEAR_WINDOW_M), fit_window_plane(points, FAR_WINDOW_M)


def analytic_pose(view: EncoderInput) -> GroundPose | None:
    """The least-squares pose of a frame's encoder input (None when the near window is not seen)."""
    near, far = window_planes(view)
    return None if near is None else GroundPose.from_planes(near, far)


class GroundPoseNet(nn.Module):
    """Four strided 3x3 convolutions, masked mean and max pooling, two linear layers: six plane
    parameters (near H, tan along, tan across; far the same)."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.width = width
        c = [4, width, 2 * width, 2 * width, 4 * width]
        layers = []
        for c_in, c_out in itertools.pairwise(c):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(2 * c[-1], 64), nn.ReLU(), nn.Linear(64, 6))

    def forward(self, channels: torch.Tensor) -> torch.Tensor:
        x = self.features(channels)
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        raw = self.head(pooled)
        heights = HEIGHT_PRIOR_M + HEIGHT_SCALE_M * raw[:, 0::3]
        tangents = TAN_SCALE * torch.stack([raw[:, 1], raw[:, 2], raw[:, 4], raw[:, 5]], dim=1)
        # (B, 6): near H, tan along, tan across, far H, tan along, tan across
        return torch.stack([heights[:, 0], tangents[:, 0], tangents[:, 1],
                            heights[:, 1], tangents[:, 2], tangents[:, 3]], dim=1)


def rendering_loss(planes: torch.Tensor, rays: torch.Tensor, log_depth: torch.Tensor, near: torch.Tensor,
                   far: torch.Tensor, delta: float = 0.05) -> torch.Tensor:
    """Self-supervision: each window's plane rendered into depth (``plane_depth``) against the
    observed log depth on that window's pixels (Huber on the log, ``delta``); a ray that misses
    the plane (it would meet it behind the camera) costs as much as a 3x depth error."""
    total, count = planes.new_zeros(()), planes.new_zeros(())
    ray_f, ray_l, ray_u = rays[:, 0], rays[:, 1], rays[:, 2]
    for offset, mask in ((0, near), (3, far)):
        h, ta, tb = (planes[:, offset + k, None, None] for k in range(3))
        denominator = ta * ray_f + tb * ray_l - ray_u
        hits = denominator > 1e-3
        rendered = torch.log(torch.clamp(h, min=1e-3) / torch.where(hits, denominator, torch.ones_like(denominator)))
        error = torch.where(hits, rendered - log_depth, torch.full_like(log_depth, math.log(3.0)))
        loss = nn.functional.huber_loss(error, torch.zeros_like(error), delta=delta, reduction="none")
        total = total + (loss * mask).sum()
        count = count + mask.sum()
    return total / torch.clamp(count, min=1.0)


def label_loss(planes: torch.Tensor, labels: torch.Tensor, far_seen: torch.Tensor) -> torch.Tensor:
    """Supervision by the simulator's planes (B, 6): L1 on heights (m) and tangents; a far window
    out of view is not scored."""
    weight = torch.stack([torch.ones_like(far_seen)] * 3 + [far_seen] * 3, dim=1)
    return ((planes - labels).abs() * weight).sum() / weight.sum()


def save_ground_pose(path: str | Path, net: GroundPoseNet, perception_sha256: str, extra: dict | None = None) -> str:
    header = {"format": FORMAT, "width": net.width, "perception_sha256": perception_sha256,
              "near_window_m": list(NEAR_WINDOW_M), "far_window_m": list(FAR_WINDOW_M), "stride": INPUT_STRIDE,
              **(extra or {})}
    return write_checkpoint(path, net, header)


def load_ground_pose(path: str | Path) -> tuple[GroundPoseNet, dict]:
    header, state = read_checkpoint(path, FORMAT, GroundPoseError, "ground pose", "ground-pose",
                                    hint=" (train one with `semloco train pose`)")
    if tuple(header["near_window_m"]) != NEAR_WINDOW_M or tuple(header["far_window_m"]) != FAR_WINDOW_M:
        raise GroundPoseError(f"ground pose: {path} was trained for other windows "
                              f"({header['near_window_m']}, {header['far_window_m']})")
    net = GroundPoseNet(header["width"])
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise GroundPoseError(f"ground pose: {path} weights do not fit its header's architecture: {exc}") from exc
    net.eval()
    return net, header


class GroundPoseEstimator:
    """Run time: the network's pose of one frame; None when the near ground is not in view (too few
    walkable points) or there is no attitude reading."""

    def __init__(self, checkpoint: str | Path, threads: int = 1):
        self.net, self.header = load_ground_pose(checkpoint)
        torch.set_num_threads(threads)

    def estimate(self, depth_m: np.ndarray, walkable: np.ndarray, intrinsics: np.ndarray,
                 up: np.ndarray | None) -> GroundPose | None:
        if up is None or not np.all(np.isfinite(up)):
            return None
        return self.estimate_view(self.view(depth_m, walkable, intrinsics, up))

    def view(self, depth_m: np.ndarray, walkable: np.ndarray, intrinsics: np.ndarray, up: np.ndarray) -> EncoderInput:
        """The frame as this encoder sees it (also what ``depth_summary`` reads)."""
        return encoder_input(depth_m, walkable, intrinsics, up, self.header["stride"])

    def estimate_view(self, view: EncoderInput) -> GroundPose | None:
        if view.near.sum() < MIN_WINDOW_POINTS:
            return None
        with torch.no_grad():
            planes = self.net(torch.from_numpy(view.channels)[None])[0].numpy().astype(float)
        far = tuple(planes[3:]) if view.far.sum() >= MIN_WINDOW_POINTS else None
        return GroundPose.from_planes(tuple(planes[:3]), far)

    def frame_geometry(self, depth_m: np.ndarray, walkable: np.ndarray, intrinsics: np.ndarray | None,
                       up: np.ndarray | None) -> FrameGeometry:
        """The pose and the corridor's depth summary of one perceived frame: what the speed policy's
        pose and depth inputs read (``intrinsics`` or ``up`` None or NaN: nothing known)."""
        if intrinsics is None or up is None or not np.all(np.isfinite(up)):
            return FrameGeometry(None, None)
        view = self.view(depth_m, walkable, intrinsics, up)
        return FrameGeometry(self.estimate_view(view), depth_summary(view))


@dataclasses.dataclass(frozen=True)
class FrameGeometry:
    """One frame's inferred ground pose (None: no near ground in view) and depth summary (None: no
    camera intrinsics or attitude)."""

    pose: GroundPose | None
    summary: np.ndarray | None

    def pose_fields(self) -> np.ndarray:
        """``GroundPose.fields``; all NaN where no pose."""
        return self.pose.fields() if self.pose is not None else np.full(len(POSE_VECTOR_FIELDS), np.nan, np.float32)

    def summary_vector(self) -> np.ndarray:
        """``depth_summary``, zeros (every knot unseen) where none."""
        return self.summary if self.summary is not None else np.zeros(DEPTH_SUMMARY_SIZE, np.float32)


DEPTH_SUMMARY_KNOTS_M = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
DEPTH_SUMMARY_HALF_WIDTH_M = 0.75
DEPTH_SUMMARY_MIN_POINTS = 5
DEPTH_SUMMARY_SIZE = 2 * (len(DEPTH_SUMMARY_KNOTS_M) - 1)  # heights of the knots beyond the first, seen flags


def depth_summary(view: EncoderInput) -> np.ndarray:
    """The policy's depth input: the corridor's elevation profile ahead, the median height of the
    walkable points within 0.25 m of each knot beyond the first (DEPTH_SUMMARY_KNOTS_M, within
    DEPTH_SUMMARY_HALF_WIDTH_M of the centre line) relative to the first knot's, then one flag per
    knot saying whether it was seen (an unseen knot's height reads 0): (10,) float32."""
    s, w, h = view.points().T
    band = np.abs(w) < DEPTH_SUMMARY_HALF_WIDTH_M
    heights = []
    for knot in DEPTH_SUMMARY_KNOTS_M:
        near_knot = band & (np.abs(s - knot) < 0.25)
        heights.append(float(np.median(h[near_knot])) if near_knot.sum() >= DEPTH_SUMMARY_MIN_POINTS else math.nan)
    base = heights[0]
    relative = [hk - base if math.isfinite(hk) and math.isfinite(base) else math.nan for hk in heights[1:]]
    seen = [float(math.isfinite(r)) for r in relative]
    return np.array([r if math.isfinite(r) else 0.0 for r in relative] + seen, dtype=np.float32)
