"""What the controller reads from a robot (simulated or real) and what it believes about it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numba import njit

from locomotion.ground_plane import GroundPlane


@dataclasses.dataclass
class SensorReadings:
    """One sample of the robot's own sensors, as the A1's low-level interface provides them.

    Joint arrays are in Unitree order (FR, FL, RR, RL x hip, thigh, calf). IMU values are in the
    trunk frame; the accelerometer gives specific force (reads +9.81 m/s^2 up when at rest).
    """

    time_s: float
    joint_positions: np.ndarray  # (12,) rad
    joint_velocities: np.ndarray  # (12,) rad/s
    imu_orientation_xyzw: np.ndarray  # (4,)
    imu_angular_velocity: np.ndarray  # (3,) rad/s, body frame
    imu_linear_acceleration: np.ndarray  # (3,) m/s^2, body frame
    foot_contact: np.ndarray  # (4,) bool

    def all_finite(self) -> bool:
        return math.isfinite(self.time_s) and bool(all_finite(
            np.asarray(self.joint_positions, dtype=float), np.asarray(self.joint_velocities, dtype=float),
            np.asarray(self.imu_orientation_xyzw, dtype=float), np.asarray(self.imu_angular_velocity, dtype=float),
            np.asarray(self.imu_linear_acceleration, dtype=float)))


@njit(cache=True)
def all_finite(*arrays) -> bool:
    for array in arrays:
        for value in array.flat:
            if not math.isfinite(value):
                return False
    return True


@dataclasses.dataclass
class GroundTruth:
    """The simulator's exact trunk state (URDF trunk frame, world = odom frame)."""

    position: np.ndarray  # (3,)
    orientation_xyzw: np.ndarray  # (4,)
    linear_velocity: np.ndarray  # (3,) world frame
    angular_velocity: np.ndarray  # (3,) world frame


@dataclasses.dataclass
class EstimatedState:
    """The controller's belief about the trunk, and leg kinematics evaluated once per tick."""

    rotation: np.ndarray  # (3, 3) body -> world
    rpy: np.ndarray  # (3,)
    position: np.ndarray  # (3,) odometry frame (z = 0 at the ground the robot stood up on)
    linear_velocity: np.ndarray  # (3,) world
    angular_velocity_body: np.ndarray  # (3,)
    foot_positions_body: np.ndarray  # (4, 3) trunk frame
    foot_velocities_body: np.ndarray  # (4, 3) relative to the trunk, trunk frame
    jacobians: np.ndarray  # (4, 3, 3)
    ground: GroundPlane = dataclasses.field(default_factory=GroundPlane)  # estimated ground (odometry frame)

    @property
    def height_above_ground(self) -> float:
        """The trunk's height above the estimated ground plane, along its normal."""
        return self.ground.height_above(self.position)

    @property
    def angular_velocity(self) -> np.ndarray:
        return self.rotation @ self.angular_velocity_body

    @property
    def linear_velocity_body(self) -> np.ndarray:
        return self.rotation.T @ self.linear_velocity

    @property
    def yaw(self) -> float:
        return float(self.rpy[2])

    def heading_velocity(self) -> np.ndarray:
        """(forward, lateral) velocity in the yaw-aligned frame."""
        c, s = np.cos(self.rpy[2]), np.sin(self.rpy[2])
        v = self.linear_velocity
        return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])

    def foot_positions_world(self) -> np.ndarray:
        return self.position + self.foot_positions_body @ self.rotation.T
