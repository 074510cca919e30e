"""Closed-form leg kinematics of a Unitree-style leg (hip roll about x, thigh and calf pitch about y).

Conventions: angles per leg are (hip, thigh, calf); the hip frame sits at the hip joint with the
trunk's axes; ``side`` is +1 for left legs and -1 for right legs; the foot point is the centre of
the toe sphere. All functions take arrays with a leading leg axis, shape (4, 3), so one call
serves the whole robot; they are pure and allocation-light because they run every control tick.
"""

from __future__ import annotations

import math

import numpy as np


def _planar(q: np.ndarray, l1: float, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Foot (x', z') in the thigh plane before the hip roll."""
    q1, q2 = q[:, 1], q[:, 2]
    x = -l1 * np.sin(q1) - l2 * np.sin(q1 + q2)
    z = -l1 * np.cos(q1) - l2 * np.cos(q1 + q2)
    return x, z


def foot_positions_in_hip_frame(
    q: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> np.ndarray:
    """(4, 3) foot positions in each hip frame for joint angles q of shape (4, 3)."""
    xp, zp = _planar(q, l1, l2)
    yp = sides * l0
    c0, s0 = np.cos(q[:, 0]), np.sin(q[:, 0])
    return np.stack([xp, c0 * yp - s0 * zp, s0 * yp + c0 * zp], axis=1)


def foot_positions_in_base_frame(
    q: np.ndarray, hip_offsets: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> np.ndarray:
    return hip_offsets + foot_positions_in_hip_frame(q, sides, l0, l1, l2)


def leg_jacobians(q: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float) -> np.ndarray:
    """(4, 3, 3) Jacobians d(foot position in base frame)/d(leg joint angles)."""
    q0, q1, q2 = q[:, 0], q[:, 1], q[:, 2]
    xp, zp = _planar(q, l1, l2)
    yp = sides * l0
    c0, s0 = np.cos(q0), np.sin(q0)
    c12, s12 = np.cos(q1 + q2), np.sin(q1 + q2)
    jac = np.zeros((q.shape[0], 3, 3))
    # column 0: hip roll rotates the (y, z) point about x
    jac[:, 1, 0] = -s0 * yp - c0 * zp
    jac[:, 2, 0] = c0 * yp - s0 * zp
    # column 1: thigh pitch; d x'/dq1 = z', d z'/dq1 = -x'
    jac[:, 0, 1] = zp
    jac[:, 1, 1] = s0 * xp
    jac[:, 2, 1] = -c0 * xp
    # column 2: calf pitch
    jac[:, 0, 2] = -l2 * c12
    jac[:, 1, 2] = -s0 * l2 * s12
    jac[:, 2, 2] = c0 * l2 * s12
    return jac


def inverse_kinematics(
    p_hip: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> np.ndarray:
    """(4, 3) joint angles reaching foot positions ``p_hip`` given in the hip frames.

    Knee-backward branch (calf angle negative), as on the A1. Unreachable targets are projected
    onto the workspace boundary instead of producing NaN.
    """
    x, y, z = p_hip[:, 0], p_hip[:, 1], p_hip[:, 2]
    yz_sq = np.maximum(y * y + z * z - l0 * l0, 1e-12)
    zp = -np.sqrt(yz_sq)
    q0 = np.arctan2(z, y) - np.arctan2(zp, sides * l0)
    q0 = (q0 + np.pi) % (2.0 * np.pi) - np.pi
    reach_sq = x * x + zp * zp
    cos_q2 = np.minimum(np.maximum((reach_sq - l1 * l1 - l2 * l2) / (2.0 * l1 * l2), -1.0), 1.0)
    q2 = -np.arccos(cos_q2)
    ux = -l2 * np.sin(q2)
    uz = -l1 - l2 * np.cos(q2)
    q1 = np.arctan2(x, zp) - np.arctan2(ux, uz)
    q1 = (q1 + np.pi) % (2.0 * np.pi) - np.pi
    return np.stack([q0, q1, q2], axis=1)


def feet_and_jacobians(
    q: np.ndarray, hip_offsets: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Foot positions in the base frame (4, 3) and Jacobians (4, 3, 3) in one pass.

    The same formulas as ``foot_positions_in_base_frame`` and ``leg_jacobians``, sharing their
    sines and cosines: the state estimator needs both every control tick."""
    q0, q1, q2 = q[:, 0], q[:, 1], q[:, 2]
    s1, c1 = np.sin(q1), np.cos(q1)
    q12 = q1 + q2
    s12, c12 = np.sin(q12), np.cos(q12)
    xp = -l1 * s1 - l2 * s12
    zp = -l1 * c1 - l2 * c12
    yp = sides * l0
    c0, s0 = np.cos(q0), np.sin(q0)
    feet = np.empty((q.shape[0], 3))
    feet[:, 0] = xp
    feet[:, 1] = c0 * yp - s0 * zp
    feet[:, 2] = s0 * yp + c0 * zp
    jac = np.empty((q.shape[0], 3, 3))
    jac[:, 0, 0] = 0.0
    jac[:, 1, 0] = -s0 * yp - c0 * zp
    jac[:, 2, 0] = c0 * yp - s0 * zp
    jac[:, 0, 1] = zp
    jac[:, 1, 1] = s0 * xp
    jac[:, 2, 1] = -c0 * xp
    jac[:, 0, 2] = -l2 * c12
    jac[:, 1, 2] = -s0 * l2 * s12
    jac[:, 2, 2] = c0 * l2 * s12
    return feet + hip_offsets, jac


def foot_velocities_in_base_frame(jacobians: np.ndarray, dq: np.ndarray) -> np.ndarray:
    """(4, 3) foot velocities relative to the trunk, in the trunk frame."""
    return np.einsum("lij,lj->li", jacobians, dq)


def rotation_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def quaternion_to_rotation(quat_xyzw) -> np.ndarray:
    x, y, z, w = (float(v) for v in quat_xyzw)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def rotation_to_rpy(rot: np.ndarray) -> np.ndarray:
    """ZYX Euler angles (roll, pitch, yaw) of a rotation matrix."""
    (r00, _, _), (r10, _, _), (r20, r21, r22) = rot.tolist()
    pitch = -math.asin(min(max(r20, -1.0), 1.0))
    roll = math.atan2(r21, r22)
    yaw = math.atan2(r10, r00)
    return np.array([roll, pitch, yaw])


def rpy_to_quaternion(rpy: np.ndarray) -> np.ndarray:
    """(x, y, z, w) quaternion of ZYX Euler angles."""
    cr, sr = np.cos(rpy[0] / 2), np.sin(rpy[0] / 2)
    cp, sp = np.cos(rpy[1] / 2), np.sin(rpy[1] / 2)
    cy, sy = np.cos(rpy[2] / 2), np.sin(rpy[2] / 2)
    return np.array(
        [
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy,
        ]
    )


def skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
