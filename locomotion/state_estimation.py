"""Trunk state estimation from the IMU and leg kinematics.

Orientation and angular velocity come straight from the IMU. Linear velocity and height are
fused by a linear Kalman filter with state s = [vx, vy, vz, z] (world frame, z = height above
the supporting ground):

    predict:  v += (R a_imu + g) dt,   z += vz dt                (IMU specific force as input)
    measure:  v = mean over feet in stance of -R (J dq + w x p_foot)  (a planted foot does not move)
              z = mean over feet in stance of -(R p_foot)_z + foot radius

Horizontal position is the integral of the estimated velocity (odometry, drifts like any).
``GroundTruthEstimator`` has the same interface and reads the simulator instead (debugging only).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from locomotion import kinematics as kin
from locomotion.robot_model import RobotDescription
from locomotion.robot_state import EstimatedState, GroundTruth, SensorReadings

GRAVITY_VECTOR = np.array([0.0, 0.0, -9.81])


@dataclasses.dataclass(frozen=True)
class EstimatorConfig:
    accelerometer_noise_mps2: float = 1.0  # process noise on the velocity prediction
    leg_velocity_noise_mps: float = 0.15  # measurement noise of one foot's velocity estimate
    height_noise_m: float = 0.01
    height_process_noise_mps: float = 0.05
    initial_height_m: float = 0.1


def leg_kinematics(robot: RobotDescription, sensors: SensorReadings):
    """Foot positions (4,3), Jacobians (4,3,3) and foot velocities (4,3), all in the trunk frame."""
    q = sensors.joint_positions.reshape(4, 3)
    dq = sensors.joint_velocities.reshape(4, 3)
    geom = (robot.abduction_link_m, robot.thigh_length_m, robot.calf_length_m)
    feet = kin.foot_positions_in_base_frame(q, robot.hip_offsets, robot.leg_sides, *geom)
    jac = kin.leg_jacobians(q, robot.leg_sides, *geom)
    return feet, jac, kin.foot_velocities_in_base_frame(jac, dq)


def estimated_state(rotation, position, linear_velocity, angular_velocity_body, kinematics) -> EstimatedState:
    """An EstimatedState from a trunk state and the tick's (feet, Jacobians, foot velocities)."""
    feet, jacobians, foot_velocities = kinematics
    return EstimatedState(
        rotation=rotation,
        rpy=kin.rotation_to_rpy(rotation),
        position=position,
        linear_velocity=linear_velocity,
        angular_velocity_body=angular_velocity_body,
        foot_positions_body=feet,
        foot_velocities_body=foot_velocities,
        jacobians=jacobians,
    )


class KalmanStateEstimator:
    def __init__(self, robot: RobotDescription, config: EstimatorConfig | None = None):
        self.robot = robot
        self.config = config or EstimatorConfig()
        self.reset()

    def reset(self) -> None:
        self.x = np.array([0.0, 0.0, 0.0, self.config.initial_height_m])
        self.P = np.diag([0.1, 0.1, 0.1, 0.05])
        self.position_xy = np.zeros(2)

    def update(
        self,
        sensors: SensorReadings,
        dt: float,
        stance: np.ndarray,
        ground_truth: GroundTruth | None = None,
    ) -> EstimatedState:
        cfg = self.config
        rot = kin.quaternion_to_rotation(sensors.imu_orientation_xyzw)
        omega_b = np.asarray(sensors.imu_angular_velocity, dtype=float)
        feet, jac, foot_vel = leg_kinematics(self.robot, sensors)

        # predict
        accel_world = rot @ sensors.imu_linear_acceleration + GRAVITY_VECTOR
        f_mat = np.eye(4)
        f_mat[3, 2] = dt
        self.x[:3] += accel_world * dt
        self.x[3] += self.x[2] * dt
        q_mat = np.diag([(cfg.accelerometer_noise_mps2 * dt) ** 2] * 3 + [(cfg.height_process_noise_mps * dt) ** 2])
        self.P = f_mat @ self.P @ f_mat.T + q_mat

        # measure with the feet that are both scheduled and sensed in stance
        planted = np.asarray(stance, dtype=bool) & np.asarray(sensors.foot_contact, dtype=bool)
        n = int(planted.sum())
        if n > 0:
            v_feet = -(foot_vel[planted] + np.cross(omega_b, feet[planted])) @ rot.T
            v_meas = v_feet.mean(axis=0)
            z_meas = float(np.mean(-(feet[planted] @ rot.T)[:, 2])) + self.robot.foot_radius_m
            r_mat = np.diag([cfg.leg_velocity_noise_mps**2 / n] * 3 + [cfg.height_noise_m**2])
            innovation = np.append(v_meas, z_meas) - self.x
            s_mat = self.P + r_mat
            gain = self.P @ np.linalg.inv(s_mat)
            self.x = self.x + gain @ innovation
            self.P = (np.eye(4) - gain) @ self.P
        self.position_xy += self.x[:2] * dt
        position = np.array([self.position_xy[0], self.position_xy[1], self.x[3]])
        return estimated_state(rot, position, self.x[:3].copy(), omega_b, (feet, jac, foot_vel))


class GroundTruthEstimator:
    """Reads the trunk state from the simulator. Height is measured from the lowest foot contact
    plane (z = 0 for flat ground), so it matches the Kalman estimator's convention."""

    def __init__(self, robot: RobotDescription):
        self.robot = robot

    def reset(self) -> None:
        pass

    def update(
        self,
        sensors: SensorReadings,
        dt: float,
        stance: np.ndarray,
        ground_truth: GroundTruth | None = None,
    ) -> EstimatedState:
        if ground_truth is None:
            raise ValueError("ground_truth: the ground-truth estimator needs the simulator's state")
        rot = kin.quaternion_to_rotation(ground_truth.orientation_xyzw)
        return estimated_state(
            rot,
            np.asarray(ground_truth.position, dtype=float).copy(),
            np.asarray(ground_truth.linear_velocity, dtype=float).copy(),
            rot.T @ ground_truth.angular_velocity,
            leg_kinematics(self.robot, sensors),
        )
