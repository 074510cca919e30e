"""Camera poses on a sphere looking at its centre, as in MELON's NeRF-Synthetic setting.

A pose is (latitude, longitude) in radians on a sphere of known radius around the object; the
camera looks at the centre with the world's +z as its consistent "up". Conventions: latitude is
the elevation above the xy plane, longitude the azimuth from +x towards +y. Camera frames follow
OpenCV: x right, y down, z forward.

The modulo replicas of a pose are the N poses with the same latitude and longitudes
lon + 2 pi k / N: what an object with an N-fold pseudo-symmetry about the up axis looks like from.
The one thing no set of images can pin down is a global rotation about the up axis, so pose
errors are measured after the single best such rotation (``align_longitudes``). A reflection is
not needed: a mirrored field would render mirrored images, so it is observable.
"""

from __future__ import annotations

import math

import numpy as np
import torch

UP = (0.0, 0.0, 1.0)


def camera_centres(lat: torch.Tensor, lon: torch.Tensor, radius: float) -> torch.Tensor:
    """(..., 3) camera positions."""
    return radius * torch.stack([torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon), torch.sin(lat)], -1)


def camera_rotations(lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) world-from-camera rotations (columns: camera x right, y down, z forward)."""
    forward = -torch.stack([torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon), torch.sin(lat)], -1)
    right = torch.stack([-torch.sin(lon), torch.cos(lon), torch.zeros_like(lon)], -1)  # forward x up, normalised
    down = torch.cross(forward, right, dim=-1)
    return torch.stack([right, down, forward], dim=-1)


def pose_from_direction(direction: np.ndarray) -> tuple[float, float]:
    """(lat, lon) of a camera at ``direction`` (any length) from the centre."""
    x, y, z = direction / np.linalg.norm(direction)
    return math.asin(max(-1.0, min(1.0, z))), math.atan2(y, x)


def replicas(lon: torch.Tensor, n: int) -> torch.Tensor:
    """(..., n) longitudes lon + 2 pi k / n, k = 0 .. n-1."""
    offsets = torch.arange(n, dtype=lon.dtype) * (2 * math.pi / n)
    return lon.unsqueeze(-1) + offsets


def angular_error_deg(lat_a, lon_a, lat_b, lon_b) -> np.ndarray:
    """Angle between camera directions, degrees (arrays broadcast)."""
    lat_a, lon_a, lat_b, lon_b = np.broadcast_arrays(lat_a, lon_a, lat_b, lon_b)
    a = np.stack([np.cos(lat_a) * np.cos(lon_a), np.cos(lat_a) * np.sin(lon_a), np.sin(lat_a)], -1)
    b = np.stack([np.cos(lat_b) * np.cos(lon_b), np.cos(lat_b) * np.sin(lon_b), np.sin(lat_b)], -1)
    return np.degrees(np.arccos(np.clip(np.sum(a * b, -1), -1.0, 1.0)))


def align_longitudes(lat_pred, lon_pred, lat_true, lon_true, steps: int = 3600) -> tuple[float, np.ndarray]:
    """The rotation about the up axis (added to predicted longitudes) minimising the mean angular
    error, and the per-image errors after it."""
    lat_pred, lon_pred = np.asarray(lat_pred), np.asarray(lon_pred)
    deltas = np.linspace(-math.pi, math.pi, steps, endpoint=False)
    errors = angular_error_deg(lat_pred[None], lon_pred[None] + deltas[:, None], np.asarray(lat_true)[None],
                               np.asarray(lon_true)[None])
    best = int(np.argmin(errors.mean(axis=1)))
    # refine around the best grid value
    fine = deltas[best] + np.linspace(-2 * math.pi / steps, 2 * math.pi / steps, 41)
    fine_err = angular_error_deg(lat_pred[None], lon_pred[None] + fine[:, None], np.asarray(lat_true)[None],
                                 np.asarray(lon_true)[None])
    k = int(np.argmin(fine_err.mean(axis=1)))
    return float(fine[k]), fine_err[k]


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(x, y, z, w) unit quaternion of a 3x3 rotation matrix."""
    m = np.asarray(rotation, dtype=float)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax([m[0, 0], m[1, 1], m[2, 2]]))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
        q[i] = 0.25 * s
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
    q = np.array(q)
    return q / np.linalg.norm(q)


def rep103_camera_pose(lat: float, lon: float, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Position (3,) and orientation (x, y, z, w) of the camera at (lat, lon) in the object frame, as a
    REP-103 body frame: x forward (towards the object's centre), y left, z up (the image's up)."""
    lat_t, lon_t = torch.tensor(float(lat), dtype=torch.float64), torch.tensor(float(lon), dtype=torch.float64)
    position = camera_centres(lat_t, lon_t, radius).numpy()
    right, down, forward = camera_rotations(lat_t, lon_t).numpy().T  # columns of world-from-camera (OpenCV)
    return position, rotation_to_quaternion(np.stack([forward, -right, -down], axis=1))
