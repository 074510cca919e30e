"""The local ground plane under the robot, estimated from where its feet last touched down.

Blind terrain estimation after Bledt et al. (MIT Cheetah 3, 2018): every foot's last touchdown
point (odometry frame, REP-105 ``odom``: x, y from leg odometry, z = 0 at the ground the robot
stood up on) is kept; the plane z = offset + gx x + gy y is the least-squares fit through them.
Its tilt (gx, gy) is low-passed (a touchdown changes the fit in a step) and the plane is held
through the touchdown points' centroid, so its height under the feet is exact at every tick.

On a constant slope the four points lie on the ground and the fit is exact. Across a crest or a
dip the fore feet stand on the new slope while the hind feet are still on the old one: the fit
is the average slope under the body, and its height under the trunk lies between the two
surfaces, within the feet's own height error (tests/test_ground_plane.py).

Everything here is small pure arithmetic on floats, run once per control tick.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class GroundPlane:
    """z = offset + gx x + gy y in the odometry frame (gx, gy: the ground's rise per metre)."""

    offset: float = 0.0
    gx: float = 0.0
    gy: float = 0.0

    def height_at(self, x, y):
        """The plane's height at (x, y): floats, or arrays of points."""
        return self.offset + self.gx * x + self.gy * y

    @property
    def normal_z(self) -> float:
        """The vertical component of the unit upward normal (cos of the slope angle)."""
        return 1.0 / math.sqrt(1.0 + self.gx * self.gx + self.gy * self.gy)

    @property
    def normal(self) -> np.ndarray:
        """(3,) the unit normal pointing away from the ground."""
        return np.array([-self.gx, -self.gy, 1.0]) * self.normal_z

    @property
    def slope_deg(self) -> float:
        """The steepest slope of the plane, degrees."""
        return math.degrees(math.atan(math.hypot(self.gx, self.gy)))

    def slopes_along(self, yaw: float) -> tuple[float, float]:
        """The rise per metre along the heading ``yaw`` and to its left (tan of the pitch-like and
        roll-like slope angles a robot facing ``yaw`` stands on)."""
        c, s = math.cos(yaw), math.sin(yaw)
        return self.gx * c + self.gy * s, -self.gx * s + self.gy * c

    def height_above(self, point: np.ndarray) -> float:
        """Distance of ``point`` (3,) from the plane along its normal (positive above)."""
        return (float(point[2]) - self.height_at(float(point[0]), float(point[1]))) * self.normal_z


def fit_plane(points: np.ndarray) -> tuple[float, float, float]:
    """(offset, gx, gy) of the least-squares plane z = offset + gx x + gy y through ``points``
    (n, 3). Fewer than three points, or points on one line, fix no tilt: then the level plane
    through their mean height."""
    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        raise ValueError("fit_plane: no points")
    centroid = points.mean(axis=0)
    if len(points) >= 3:
        d = points - centroid
        sxx, sxy, syy = float(d[:, 0] @ d[:, 0]), float(d[:, 0] @ d[:, 1]), float(d[:, 1] @ d[:, 1])
        sxz, syz = float(d[:, 0] @ d[:, 2]), float(d[:, 1] @ d[:, 2])
        det = sxx * syy - sxy * sxy
        # collinear points (det ~ 0 against the spread squared) leave the cross slope undetermined
        if det > 1e-6 * max(sxx + syy, 1e-12) ** 2:
            gx = (syy * sxz - sxy * syz) / det
            gy = (sxx * syz - sxy * sxz) / det
            return float(centroid[2] - gx * centroid[0] - gy * centroid[1]), float(gx), float(gy)
    return float(centroid[2]), 0.0, 0.0


def ground_frame(plane: GroundPlane, yaw: float) -> np.ndarray:
    """(3, 3) the ground's frame for a robot heading ``yaw``, columns in the world frame: forward
    along the ground (the heading projected onto the plane), left along the ground, and the
    normal. The friction pyramid and the trunk's reference attitude are expressed in it."""
    c, s = math.cos(yaw), math.sin(yaw)
    gx, gy = plane.gx, plane.gy
    along = gx * c + gy * s
    k = 1.0 / math.sqrt(1.0 + along * along)
    fx, fy, fz = c * k, s * k, along * k  # forward, unit
    nz = plane.normal_z
    nx, ny = -gx * nz, -gy * nz  # normal, unit
    # left = normal x forward (plain floats: this runs on every MPC solve)
    lx, ly, lz = ny * fz - nz * fy, nz * fx - nx * fz, nx * fy - ny * fx
    return np.array([[fx, lx, nx], [fy, ly, ny], [fz, lz, nz]])


def slope_attitude(plane: GroundPlane, yaw: float) -> tuple[float, float]:
    """(roll, pitch) of a trunk lying flat on the plane with heading ``yaw``, in the ZYX (REP-103)
    convention: pitch is negative (nose up) facing uphill, roll positive when the ground rises to
    the left. These are the angles of ``ground_frame``: its forward axis has pitch
    -atan(rise along), and its left axis then rises by the roll."""
    along, _ = plane.slopes_along(yaw)
    frame = ground_frame(plane, yaw)
    pitch = -math.atan(along)
    # R = Rz(yaw) Ry(pitch) Rx(roll): the left axis (column 1) has z = cos(pitch) sin(roll)
    roll = math.asin(max(-1.0, min(1.0, float(frame[2, 1]) / math.cos(pitch))))
    return roll, pitch


def slope_attitudes(plane: GroundPlane, yaws: np.ndarray, cos_sin: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``slope_attitude`` for many headings at once (the MPC's reference, one per horizon step), in
    closed form: with f = (c, s, along) / |.| the forward axis and n the normal, the left axis
    n x f has z = (gy c - gx s) / (|n| |f|) = cos(pitch) sin(roll). ``cos_sin``: the headings'
    cosines and sines, when the caller has them already."""
    c, s = (np.cos(yaws), np.sin(yaws)) if cos_sin is None else cos_sin
    along = plane.gx * c + plane.gy * s
    pitch = -np.arctan(along)
    left_z = (plane.gy * c - plane.gx * s) * plane.normal_z / np.sqrt(1.0 + along * along)
    roll = np.arcsin(np.minimum(np.maximum(left_z / np.cos(pitch), -1.0), 1.0))  # np.clip, without its overhead
    return roll, pitch


@dataclasses.dataclass(frozen=True)
class GroundPlaneConfig:
    # the fitted tilt is low-passed with this time constant: a touchdown changes the fit in a
    # step, and the trunk's reference attitude follows the tilt (a trot touches down every
    # 0.15-0.25 s, so this spans about one step)
    time_constant_s: float = 0.15
    # the tilt across the walking direction is low-passed with this one: the stance is about
    # 0.26 m wide against 0.37 m long, and crossing a crest or dip a trot leaves one diagonal's
    # feet on the new slope and the other's on the old for a step, a twist that the fit reads as
    # a cross slope (a 5 cm twist: ~5 deg), gone a step later; a real cross slope persists
    across_time_constant_s: float = 0.6
    # no estimate tilts more than this (the steepest trail slope is 15 deg); a larger fit is a
    # foot that touched down on something else (a stone, a step) and is clipped
    max_slope_deg: float = 20.0

    def __post_init__(self) -> None:
        if self.time_constant_s < 0:
            raise ValueError(f"time_constant_s: must be non-negative, got {self.time_constant_s}")
        if self.across_time_constant_s < 0:
            raise ValueError(f"across_time_constant_s: must be non-negative, got {self.across_time_constant_s}")
        if not 0.0 < self.max_slope_deg < 60.0:
            raise ValueError(f"max_slope_deg: must be in (0, 60), got {self.max_slope_deg}")


def low_pass_gain(dt: float, time_constant_s: float) -> float:
    """The share of the step to the target that a first-order low-pass takes in ``dt``."""
    return 1.0 if time_constant_s == 0 else 1.0 - math.exp(-dt / time_constant_s)


class GroundPlaneEstimator:
    """The filter of the module docstring: ``touchdown`` records a foot's contact point,
    ``update`` advances the filter by one tick and returns the current plane."""

    def __init__(self, config: GroundPlaneConfig | None = None, n_legs: int = 4):
        self.config = config or GroundPlaneConfig()
        self.n_legs = n_legs
        self.reset()

    def reset(self) -> None:
        self.points = np.zeros((self.n_legs, 3))
        self.known = np.zeros(self.n_legs, dtype=bool)
        self.any_known = False  # known.any(), kept as a flag: it is asked every tick
        self._fit = (0.0, 0.0, 0.0)
        self._tilt = (0.0, 0.0)
        self._centroid = (0.0, 0.0, 0.0)
        self._changed = False
        self.plane = GroundPlane()

    def touchdown(self, leg: int, point) -> None:
        """Foot ``leg`` is on the ground at ``point`` (odometry frame, the foot's lowest point)."""
        self.points[leg] = point
        self.known[leg] = True
        self.any_known = True
        self._changed = True

    def update(self, dt: float, yaw: float = 0.0) -> GroundPlane:
        """Advance by ``dt``; ``yaw`` (the trunk's heading, rad) splits the tilt into along and across
        the walking direction for their two time constants."""
        if self._changed:
            points = self.points[self.known]
            self._fit = fit_plane(points)
            self._centroid = tuple(float(v) for v in points.mean(axis=0))
            self._changed = False
        if not self.any_known:
            return self.plane
        _, fx, fy = self._fit
        limit = math.tan(math.radians(self.config.max_slope_deg))
        norm = math.hypot(fx, fy)
        if norm > limit:
            fx, fy = fx * limit / norm, fy * limit / norm
        gx, gy = self._tilt
        a_along = low_pass_gain(dt, self.config.time_constant_s)
        a_across = low_pass_gain(dt, self.config.across_time_constant_s)
        c, s = math.cos(yaw), math.sin(yaw)
        d_along = a_along * (c * (fx - gx) + s * (fy - gy))
        d_across = a_across * (-s * (fx - gx) + c * (fy - gy))
        gx, gy = gx + c * d_along - s * d_across, gy + s * d_along + c * d_across
        self._tilt = (gx, gy)
        cx, cy, cz = self._centroid
        self.plane = GroundPlane(cz - gx * cx - gy * cy, gx, gy)
        return self.plane
