"""Closed-form leg kinematics of a Unitree-style leg (hip roll about x, thigh and calf pitch about y).

Conventions: angles per leg are (hip, thigh, calf); the hip frame sits at the hip joint with the
trunk's axes; ``side`` is +1 for left legs and -1 for right legs; the foot point is the centre of
the toe sphere. All functions take arrays with a leading leg axis, shape (4, 3), so one call
serves the whole robot; they are pure and allocation-light because they run every control tick.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def leg_point_and_jacobian(q0: float, q1: float, q2: float, side: float, l0: float, l1: float, l2: float,
                           foot: np.ndarray, jac: np.ndarray) -> None:
    """One leg: its foot in the hip frame into ``foot`` (3,), d(foot)/d(joints) into ``jac`` (3, 3).

    The foot (x', z') in the thigh plane, then the hip roll rotates the point (y', z') about x."""
    s1, c1 = math.sin(q1), math.cos(q1)
    s12, c12 = math.sin(q1 + q2), math.cos(q1 + q2)
    c0, s0 = math.cos(q0), math.sin(q0)
    xp = -l1 * s1 - l2 * s12
    zp = -l1 * c1 - l2 * c12
    yp = side * l0
    foot[0] = xp
    foot[1] = c0 * yp - s0 * zp
    foot[2] = s0 * yp + c0 * zp
    # column 0: hip roll rotates the (y, z) point about x
    jac[0, 0] = 0.0
    jac[1, 0] = -s0 * yp - c0 * zp
    jac[2, 0] = c0 * yp - s0 * zp
    # column 1: thigh pitch; d x'/dq1 = z', d z'/dq1 = -x'
    jac[0, 1] = zp
    jac[1, 1] = s0 * xp
    jac[2, 1] = -c0 * xp
    # column 2: calf pitch
    jac[0, 2] = -l2 * c12
    jac[1, 2] = -s0 * l2 * s12
    jac[2, 2] = c0 * l2 * s12


@njit(cache=True)
def feet_and_jacobians(
    q: np.ndarray, hip_offsets: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Foot positions in the base frame (n, 3) and Jacobians d(foot)/d(leg joints) (n, 3, 3).

    Compiled (numba), as are the other per-leg loops of the control tick: there NumPy's per-call
    overhead on (4, 3) arrays cost more than the arithmetic."""
    n = q.shape[0]
    feet = np.empty((n, 3))
    jac = np.empty((n, 3, 3))
    for leg in range(n):
        leg_point_and_jacobian(q[leg, 0], q[leg, 1], q[leg, 2], sides[leg], l0, l1, l2, feet[leg], jac[leg])
        for i in range(3):
            feet[leg, i] += hip_offsets[leg, i]
    return feet, jac


def foot_positions_in_hip_frame(
    q: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> np.ndarray:
    """(4, 3) foot positions in each hip frame for joint angles q of shape (4, 3)."""
    q = np.ascontiguousarray(q, dtype=float)
    return feet_and_jacobians(q, np.zeros((q.shape[0], 3)), np.asarray(sides, dtype=float), l0, l1, l2)[0]


def foot_positions_in_base_frame(
    q: np.ndarray, hip_offsets: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> np.ndarray:
    q = np.ascontiguousarray(q, dtype=float)
    return feet_and_jacobians(q, np.asarray(hip_offsets, dtype=float), np.asarray(sides, dtype=float),
                              l0, l1, l2)[0]


def leg_jacobians(q: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float) -> np.ndarray:
    """(4, 3, 3) Jacobians d(foot position in base frame)/d(leg joint angles)."""
    q = np.ascontiguousarray(q, dtype=float)
    return feet_and_jacobians(q, np.zeros((q.shape[0], 3)), np.asarray(sides, dtype=float), l0, l1, l2)[1]


@njit(cache=True)
def _wrap_angle(angle: float) -> float:
    """To [-pi, pi), as (angle + pi) mod 2 pi - pi with Python's (floored) modulo."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


@njit(cache=True)
def leg_inverse_kinematics(
    x: float, y: float, z: float, side: float, l0: float, l1: float, l2: float
) -> tuple[float, float, float]:
    """(hip, thigh, calf) angles of one leg reaching (x, y, z) in its hip frame; knee backward."""
    zp = -math.sqrt(max(y * y + z * z - l0 * l0, 1e-12))
    q0 = _wrap_angle(math.atan2(z, y) - math.atan2(zp, side * l0))
    reach_sq = x * x + zp * zp
    cos_q2 = min(max((reach_sq - l1 * l1 - l2 * l2) / (2.0 * l1 * l2), -1.0), 1.0)
    q2 = -math.acos(cos_q2)
    ux = -l2 * math.sin(q2)
    uz = -l1 - l2 * math.cos(q2)
    q1 = _wrap_angle(math.atan2(x, zp) - math.atan2(ux, uz))
    return q0, q1, q2


def inverse_kinematics(
    p_hip: np.ndarray, sides: np.ndarray, l0: float, l1: float, l2: float
) -> np.ndarray:
    """(4, 3) joint angles reaching foot positions ``p_hip`` given in the hip frames.

    Knee-backward branch (calf angle negative), as on the A1. Unreachable targets are projected
    onto the workspace boundary instead of producing NaN.
    """
    return np.array([leg_inverse_kinematics(*map(float, p), float(side), l0, l1, l2)
                     for p, side in zip(p_hip, sides)])


@njit(cache=True)
def foot_velocities_in_base_frame(jacobians: np.ndarray, dq: np.ndarray) -> np.ndarray:
    """(4, 3) foot velocities relative to the trunk, in the trunk frame: J dq per leg."""
    out = np.empty((jacobians.shape[0], 3))
    for leg in range(jacobians.shape[0]):
        for i in range(3):
            out[leg, i] = jacobians[leg, i, 0] * dq[leg, 0] + jacobians[leg, i, 1] * dq[leg, 1] \
                + jacobians[leg, i, 2] * dq[leg, 2]
    return out


def rotation_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def quaternion_to_rotation(quat_xyzw) -> np.ndarray:
    x, y, z, w = np.asarray(quat_xyzw, dtype=float).tolist()
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


def roll_pitch_of_quaternion(quat_xyzw) -> tuple[float, float]:
    """(roll, pitch) of ``rotation_to_rpy(quaternion_to_rotation(q))``, from the rotation's last row only."""
    x, y, z, w = np.asarray(quat_xyzw, dtype=float).tolist()
    r20, r21, r22 = 2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)
    return math.atan2(r21, r22), -math.asin(min(max(r20, -1.0), 1.0))


def yaw_of_quaternion(quat_xyzw) -> float:
    """The yaw of ``rotation_to_rpy(quaternion_to_rotation(q))``, from the rotation's first column only."""
    x, y, z, w = np.asarray(quat_xyzw, dtype=float).tolist()
    return math.atan2(2 * (x * y + z * w), 1 - 2 * (y * y + z * z))


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
