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
from numba import njit

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
    feet, jac = kin.feet_and_jacobians(q, robot.hip_offsets, robot.leg_sides, *geom)
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


@njit(cache=True)
def leg_odometry(rotation: np.ndarray, angular_velocity_body: np.ndarray, feet: np.ndarray,
                 foot_velocities: np.ndarray, stance: np.ndarray, contact: np.ndarray,
                 foot_radius: float) -> tuple[np.ndarray, float, int]:
    """Trunk velocity (world) and height seen by the planted feet (scheduled in stance and sensing
    contact), and how many there are: the mean over them of -R (J dq + w x p_foot) and of
    -(R p_foot)_z + foot radius (zeros when none is planted)."""
    relative = np.zeros(3)  # sum of J dq + w x p over the planted feet, trunk frame
    foot_sum = np.zeros(3)
    n = 0
    for leg in range(feet.shape[0]):
        if stance[leg] and contact[leg]:
            relative += foot_velocities[leg] + np.cross(angular_velocity_body, feet[leg])
            foot_sum += feet[leg]
            n += 1
    if n == 0:
        return np.zeros(3), 0.0, 0
    velocity = -(rotation @ (relative / n))
    height = -(rotation[2] @ (foot_sum / n)) + foot_radius
    return velocity, height, n


def scalar_kalman_update(mean: float, var: float, measured: float, noise_var: float) -> tuple[float, float]:
    gain = var / (var + noise_var)
    return mean + gain * (measured - mean), (1.0 - gain) * var


class KalmanStateEstimator:
    """The filter of the module docstring. With H = I, diagonal noises and F coupling only z to vz,
    its covariance stays block-diagonal: vx and vy are independent scalars and (vz, z) a 2 x 2
    block, which is how it is computed (the same numbers as the 4 x 4 form, without its cost)."""

    def __init__(self, robot: RobotDescription, config: EstimatorConfig | None = None):
        self.robot = robot
        self.config = config or EstimatorConfig()
        self.reset()

    def reset(self) -> None:
        self._mean = (0.0, 0.0, 0.0, self.config.initial_height_m)  # vx, vy, vz, z
        self._cov = (0.1, 0.1, 0.1, 0.0, 0.05)  # var vx, var vy, and the (vz, z) block: a, b, c
        self._xy = (0.0, 0.0)

    @property
    def x(self) -> np.ndarray:
        """The state mean [vx, vy, vz, z]."""
        return np.array(self._mean)

    @property
    def P(self) -> np.ndarray:
        """The state covariance (4 x 4)."""
        pvx, pvy, a, b, c = self._cov
        return np.array([[pvx, 0.0, 0.0, 0.0], [0.0, pvy, 0.0, 0.0], [0.0, 0.0, a, b], [0.0, 0.0, b, c]])

    @property
    def position_xy(self) -> np.ndarray:
        """Horizontal odometry, the integral of the estimated velocity."""
        return np.array(self._xy)

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
        kinematics = leg_kinematics(self.robot, sensors)
        vx, vy, vz, z = self._mean
        pvx, pvy, a, b, c = self._cov

        # predict: v += (R a_imu + g) dt, z += vz dt; P = F P F^T + Q with F = I + dt e_z e_vz^T
        ax, ay, az = (rot @ sensors.imu_linear_acceleration + GRAVITY_VECTOR).tolist()
        vx, vy, vz = vx + ax * dt, vy + ay * dt, vz + az * dt
        z += vz * dt
        q_v = (cfg.accelerometer_noise_mps2 * dt) ** 2
        pvx, pvy = pvx + q_v, pvy + q_v
        a, b, c = a + q_v, a * dt + b, a * dt * dt + 2.0 * b * dt + c + (cfg.height_process_noise_mps * dt) ** 2

        # measure with the feet that are both scheduled and sensed in stance
        v_meas, z_meas, n = leg_odometry(rot, omega_b, kinematics[0], kinematics[2], np.asarray(stance, dtype=bool),
                                         np.asarray(sensors.foot_contact, dtype=bool), self.robot.foot_radius_m)
        if n > 0:
            r_v, r_z = cfg.leg_velocity_noise_mps**2 / n, cfg.height_noise_m**2
            vx, pvx = scalar_kalman_update(vx, pvx, float(v_meas[0]), r_v)
            vy, pvy = scalar_kalman_update(vy, pvy, float(v_meas[1]), r_v)
            # (vz, z) block: K = B (B + R)^-1, x += K (y - x), B = (I - K) B
            s00, s01, s11 = a + r_v, b, c + r_z
            det = s00 * s11 - s01 * s01
            i00, i01, i11 = s11 / det, -s01 / det, s00 / det
            k00, k01 = a * i00 + b * i01, a * i01 + b * i11
            k10, k11 = b * i00 + c * i01, b * i01 + c * i11
            e_vz, e_z = float(v_meas[2]) - vz, z_meas - z
            vz, z = vz + k00 * e_vz + k01 * e_z, z + k10 * e_vz + k11 * e_z
            a, b, c = (1.0 - k00) * a - k01 * b, (1.0 - k00) * b - k01 * c, -k10 * b + (1.0 - k11) * c
        self._mean, self._cov = (vx, vy, vz, z), (pvx, pvy, a, b, c)
        x, y = self._xy
        self._xy = (x + vx * dt, y + vy * dt)
        return estimated_state(rot, np.array([self._xy[0], self._xy[1], z]), np.array([vx, vy, vz]), omega_b,
                               kinematics)


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
