"""Trunk state estimation from the IMU and leg kinematics.

Orientation and angular velocity come straight from the IMU. Linear velocity and height are
fused by a linear Kalman filter with state s = [vx, vy, vz, z] (odometry frame, REP-105 ``odom``:
z = 0 at the ground the robot stood up on):

    predict:  v += (R a_imu + g) dt,   z += vz dt                (IMU specific force as input)
    measure:  v = mean over planted feet of -R (J dq + w x p_foot)   (a planted foot does not move)
              z = mean over planted feet of z_ground,leg - (R p_foot)_z + foot radius

where z_ground,leg is the height of the ground under the foot, recorded when it touched down (from
the estimate of that tick; the feet the robot stands up on define z = 0). The touchdown points also
feed the ground-plane estimate (``locomotion.ground_plane``): the controller walks relative to that
plane, and ``EstimatedState.height_above_ground`` is the trunk's height above it, along its normal.
A foot is planted when it is scheduled in stance and its sensor reads contact.

Horizontal position is the integral of the estimated velocity (odometry, drifts like any).
``GroundTruthEstimator`` has the same interface and reads the simulator instead (debugging only).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from locomotion import kinematics as kin
from locomotion.ground_plane import GroundPlaneConfig, GroundPlaneEstimator
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
    ground_plane: GroundPlaneConfig = dataclasses.field(default_factory=GroundPlaneConfig)


def leg_kinematics(robot: RobotDescription, sensors: SensorReadings):
    """Foot positions (4,3), Jacobians (4,3,3) and foot velocities (4,3), all in the trunk frame."""
    q = sensors.joint_positions.reshape(4, 3)
    dq = sensors.joint_velocities.reshape(4, 3)
    geom = (robot.abduction_link_m, robot.thigh_length_m, robot.calf_length_m)
    feet, jac = kin.feet_and_jacobians(q, robot.hip_offsets, robot.leg_sides, *geom)
    return feet, jac, kin.foot_velocities_in_base_frame(jac, dq)


def estimated_state(rotation, position, linear_velocity, angular_velocity_body, kinematics,
                    ground: GroundPlaneEstimator, dt: float) -> EstimatedState:
    """An EstimatedState from a trunk state, the tick's (feet, Jacobians, foot velocities) and the
    ground-plane estimate, which it advances by ``dt`` at the trunk's heading."""
    feet, jacobians, foot_velocities = kinematics
    rpy = kin.rotation_to_rpy(rotation)
    return EstimatedState(
        rotation=rotation,
        rpy=rpy,
        position=position,
        linear_velocity=linear_velocity,
        angular_velocity_body=angular_velocity_body,
        foot_positions_body=feet,
        foot_velocities_body=foot_velocities,
        jacobians=jacobians,
        ground=ground.update(dt, float(rpy[2])),
    )


@njit(cache=True)
def leg_odometry(rotation: np.ndarray, angular_velocity_body: np.ndarray, feet: np.ndarray,
                 foot_velocities: np.ndarray, planted: np.ndarray, grounded: np.ndarray, ground_z: np.ndarray,
                 foot_radius: float) -> tuple[np.ndarray, int, float, int]:
    """What the planted feet say about the trunk: its velocity (world), the mean over the planted
    feet of -R (J dq + w x p_foot), and how many there are; its height, the mean over the planted
    feet whose ground height is known (``grounded``) of ground_z - (R p_foot)_z + foot radius, and
    how many those are (zeros when there are none)."""
    relative = np.zeros(3)  # sum of J dq + w x p over the planted feet, trunk frame
    n, n_height, height = 0, 0, 0.0
    for leg in range(feet.shape[0]):
        if planted[leg]:
            relative += foot_velocities[leg] + np.cross(angular_velocity_body, feet[leg])
            n += 1
            if grounded[leg]:
                height += ground_z[leg] - (rotation[2] @ feet[leg]) + foot_radius
                n_height += 1
    velocity = -(rotation @ (relative / n)) if n > 0 else np.zeros(3)
    return velocity, n, height / n_height if n_height > 0 else 0.0, n_height


def record_touchdowns(ground: GroundPlaneEstimator, grounded: np.ndarray, planted: np.ndarray, position: np.ndarray,
                      rotation: np.ndarray, feet: np.ndarray, foot_radius: float) -> None:
    """Feet planted this tick that were not on the ground before (``grounded``): their contact
    points (odometry frame, the bottom of the foot) go to the ground-plane estimate, and they count
    as grounded from now on. Feet no longer planted leave the ground."""
    for leg in range(len(planted)):
        if planted[leg] and not grounded[leg]:
            point = position + rotation @ feet[leg]
            point[2] -= foot_radius
            ground.touchdown(leg, point)
        grounded[leg] = planted[leg]


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
        self.ground = GroundPlaneEstimator(self.config.ground_plane)
        self._grounded = np.zeros(4, dtype=bool)  # planted feet whose ground height is recorded

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
        planted = np.asarray(stance, dtype=bool) & np.asarray(sensors.foot_contact, dtype=bool)
        feet = kinematics[0]
        if not self.ground.any_known and planted.any():
            # the feet the robot first stands on define the odometry frame's z = 0
            z_now = -float((feet[planted] @ rot[2]).mean()) + self.robot.foot_radius_m
            record_touchdowns(self.ground, self._grounded, planted, np.array([self._xy[0], self._xy[1], z_now]), rot,
                              feet, self.robot.foot_radius_m)
        v_meas, n, z_meas, n_height = leg_odometry(rot, omega_b, feet, kinematics[2], planted, self._grounded,
                                                   self.ground.points[:, 2].copy(), self.robot.foot_radius_m)
        if n > 0:
            r_v, r_z = cfg.leg_velocity_noise_mps**2 / n, cfg.height_noise_m**2
            vx, pvx = scalar_kalman_update(vx, pvx, float(v_meas[0]), r_v)
            vy, pvy = scalar_kalman_update(vy, pvy, float(v_meas[1]), r_v)
            e_vz = float(v_meas[2]) - vz
            if n_height > 0:
                # (vz, z) block: K = B (B + R)^-1, x += K (y - x), B = (I - K) B
                s00, s01, s11 = a + r_v, b, c + r_z
                det = s00 * s11 - s01 * s01
                i00, i01, i11 = s11 / det, -s01 / det, s00 / det
                k00, k01 = a * i00 + b * i01, a * i01 + b * i11
                k10, k11 = b * i00 + c * i01, b * i01 + c * i11
                e_z = z_meas - z
                vz, z = vz + k00 * e_vz + k01 * e_z, z + k10 * e_vz + k11 * e_z
                a, b, c = (1.0 - k00) * a - k01 * b, (1.0 - k00) * b - k01 * c, -k10 * b + (1.0 - k11) * c
            else:  # only feet that touch down this tick: they measure the velocity, not the height
                k0, k1 = a / (a + r_v), b / (a + r_v)
                vz, z = vz + k0 * e_vz, z + k1 * e_vz
                a, b, c = (1.0 - k0) * a, (1.0 - k0) * b, c - k1 * b
        self._mean, self._cov = (vx, vy, vz, z), (pvx, pvy, a, b, c)
        x, y = self._xy
        self._xy = (x + vx * dt, y + vy * dt)
        position = np.array([self._xy[0], self._xy[1], z])
        record_touchdowns(self.ground, self._grounded, planted, position, rot, feet, self.robot.foot_radius_m)
        return estimated_state(rot, position, np.array([vx, vy, vz]), omega_b, kinematics, self.ground, dt)


class GroundTruthEstimator:
    """Reads the trunk state from the simulator (the world frame is the odometry frame) and
    estimates the ground plane from the feet's true touchdown points, as the Kalman estimator
    does from its own."""

    def __init__(self, robot: RobotDescription, ground_plane: GroundPlaneConfig | None = None):
        self.robot = robot
        self.ground_config = ground_plane or GroundPlaneConfig()
        self.reset()

    def reset(self) -> None:
        self.ground = GroundPlaneEstimator(self.ground_config)
        self._grounded = np.zeros(4, dtype=bool)

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
        position = np.asarray(ground_truth.position, dtype=float).copy()
        kinematics = leg_kinematics(self.robot, sensors)
        planted = np.asarray(stance, dtype=bool) & np.asarray(sensors.foot_contact, dtype=bool)
        record_touchdowns(self.ground, self._grounded, planted, position, rot, kinematics[0], self.robot.foot_radius_m)
        return estimated_state(
            rot,
            position,
            np.asarray(ground_truth.linear_velocity, dtype=float).copy(),
            rot.T @ ground_truth.angular_velocity,
            kinematics,
            self.ground,
            dt,
        )
