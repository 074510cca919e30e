"""The control tick's compiled kernels against independent formulations of the same maths.

Each kernel (numba) is checked against a plain statement of what it computes: the generic 4 x 4
Kalman filter, NumPy's least squares, forward kinematics of the inverse-kinematics targets, the
linearised dynamics matrix of the MPC, and element-wise NumPy versions of the mask logic.
"""

import numpy as np
import pytest

from locomotion import kinematics as kin
from locomotion.controller import leg_contact_states, touchdown_times
from locomotion.mpc import continuous_dynamics, first_step_prediction
from locomotion.robot_model import load_robot
from locomotion.robot_state import SensorReadings
from locomotion.safety import limit_torques
from locomotion.stance import forces_to_torques
from locomotion.state_estimation import EstimatorConfig, KalmanStateEstimator, leg_kinematics
from locomotion.swing import hips_at_touchdown_heading, joint_velocity_target, swing_leg_torques

ROBOT = load_robot("a1")
GEOM = (ROBOT.abduction_link_m, ROBOT.thigh_length_m, ROBOT.calf_length_m)


def random_angles(rng):
    lower, upper = ROBOT.joint_limits
    return rng.uniform(lower, np.minimum(upper, 2.5)).reshape(4, 3)


def test_block_kalman_equals_the_generic_four_by_four_filter():
    """The estimator's scalar / 2 x 2 form against the textbook filter on the same inputs, with the
    ground height under each foot recorded at its touchdown (a foot touching down measures velocity
    only on that tick)."""
    rng = np.random.default_rng(1)
    cfg = EstimatorConfig()
    estimator = KalmanStateEstimator(ROBOT, cfg)
    x, p = estimator.x.copy(), estimator.P.copy()
    ground_z, grounded = None, np.zeros(4, bool)  # the ground under each foot, from its touchdown
    dt = 0.002
    for tick in range(300):
        q = ROBOT.stand_pose + rng.normal(0, 0.1, 12)
        quat = kin.rpy_to_quaternion(rng.normal(0, 0.1, 3))
        sensors = SensorReadings(tick * dt, q, rng.normal(0, 1.0, 12), quat, rng.normal(0, 0.5, 3),
                                 np.array([0.0, 0.0, 9.81]) + rng.normal(0, 1.0, 3), rng.random(4) < 0.7)
        stance = rng.random(4) < 0.7
        state = estimator.update(sensors, dt, stance)
        # the generic filter
        rot = kin.quaternion_to_rotation(quat)
        f = np.eye(4)
        f[3, 2] = dt
        x[:3] += (rot @ sensors.imu_linear_acceleration + np.array([0.0, 0.0, -9.81])) * dt
        x[3] += x[2] * dt
        p = f @ p @ f.T + np.diag([(cfg.accelerometer_noise_mps2 * dt) ** 2] * 3
                                  + [(cfg.height_process_noise_mps * dt) ** 2])
        planted = stance & sensors.foot_contact
        feet, _, foot_vel = leg_kinematics(ROBOT, sensors)
        foot_z = (feet @ rot.T)[:, 2]  # each foot's height below the trunk (negative), world axes
        if ground_z is None and planted.any():  # the first feet on the ground define z = 0
            ground_z = np.zeros(4)
            ground_z[planted] = foot_z[planted] - foot_z[planted].mean()
            grounded = planted.copy()
        if planted.any():
            omega = sensors.imu_angular_velocity
            v = -(foot_vel[planted] + np.cross(omega, feet[planted])) @ rot.T
            noise = [cfg.leg_velocity_noise_mps**2 / planted.sum()] * 3
            measures = planted & grounded  # feet touching down this tick measure no height
            if measures.any():
                h, y = np.eye(4), np.append(v.mean(axis=0), np.mean(ground_z[measures] - foot_z[measures])
                                            + ROBOT.foot_radius_m)
                r = np.diag(noise + [cfg.height_noise_m**2])
            else:
                h, y, r = np.eye(4)[:3], v.mean(axis=0), np.diag(noise)
            gain = p @ h.T @ np.linalg.inv(h @ p @ h.T + r)
            x = x + gain @ (y - h @ x)
            p = (np.eye(4) - gain @ h) @ p
        if ground_z is not None:  # touchdowns: the ground under the foot from this tick's estimate
            new = planted & ~grounded
            ground_z[new] = x[3] + foot_z[new] - ROBOT.foot_radius_m
        grounded = planted.copy()
        np.testing.assert_allclose(estimator.x, x, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(estimator.P, p, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(state.linear_velocity, x[:3], rtol=1e-9, atol=1e-12)


def test_joint_velocity_target_is_least_squares():
    rng = np.random.default_rng(2)
    for _ in range(200):
        leg = rng.integers(4)
        jac = kin.leg_jacobians(random_angles(rng), ROBOT.leg_sides, *GEOM)[leg]
        v = rng.normal(0, 1.0, 3)
        np.testing.assert_allclose(joint_velocity_target(jac, v), np.linalg.lstsq(jac, v, rcond=1e-3)[0],
                                   rtol=1e-9, atol=1e-9)
    # a straight knee (calf angle 0, outside the A1's limits): the cut-off branch
    jac = kin.leg_jacobians(np.array([[0.1, 0.3, 0.0]]), np.array([1.0]), *GEOM)[0]
    v = np.array([0.2, -0.1, 0.3])
    np.testing.assert_allclose(joint_velocity_target(jac, v), np.linalg.lstsq(jac, v, rcond=1e-3)[0], atol=1e-9)


def test_swing_targets_reach_the_trajectory_point_at_its_velocity():
    """Forward kinematics of the kernel's joint targets lands on the foot target, and J dq_des gives
    the target's velocity relative to the moving trunk (both independent of the kernel's IK)."""
    rng = np.random.default_rng(3)
    rot = kin.quaternion_to_rotation(kin.rpy_to_quaternion(np.array([0.05, -0.04, 0.3])))
    position, velocity, omega = np.array([1.0, 0.2, 0.29]), np.array([0.8, 0.1, 0.0]), np.array([0.1, -0.2, 0.3])
    stand_feet, _ = kin.feet_and_jacobians(ROBOT.stand_pose.reshape(4, 3), ROBOT.hip_offsets, ROBOT.leg_sides, *GEOM)
    start = position + stand_feet @ rot.T
    end = start + np.array([0.12, 0.02, 0.0])
    s = rng.uniform(0.1, 0.9, 4)
    s_dot = np.full(4, 4.0)
    kp, kd = np.full(12, 100.0), np.full(12, 2.0)
    lower, upper = ROBOT.joint_limits
    q, dq = ROBOT.stand_pose.copy(), np.zeros(12)
    active = np.array([True, False, False, True])
    torques, q_des = swing_leg_torques(rot, position, velocity, omega, start, end, 0.08, s, s_dot, np.zeros(4),
                                       np.zeros(4, dtype=bool), active, ROBOT.hip_offsets, ROBOT.leg_sides, *GEOM,
                                       lower, upper, kp, kd, q, dq)
    feet_des, jac_des = kin.feet_and_jacobians(q_des.reshape(4, 3), ROBOT.hip_offsets, ROBOT.leg_sides, *GEOM)
    for leg in range(4):
        sl = s[leg]
        blend, d_blend = sl**3 * (10 - 15 * sl + 6 * sl**2), 30 * sl**2 * (1 - sl) ** 2
        bump, d_bump = 16 * sl**2 * (1 - sl) ** 2, 32 * sl * (1 - sl) * (1 - 2 * sl)
        target = start[leg] + (end[leg] - start[leg]) * blend + np.array([0.0, 0.0, 0.08 * bump])
        target_vel = (end[leg] - start[leg]) * d_blend * s_dot[leg] + np.array([0.0, 0.0, 0.08 * d_bump * s_dot[leg]])
        np.testing.assert_allclose(position + rot @ feet_des[leg], target, atol=1e-9)
        if active[leg]:
            joints = slice(3 * leg, 3 * leg + 3)
            dq_des = (torques[joints] - kp[joints] * (q_des[joints] - q[joints])) / kd[joints]
            p_body = rot.T @ (target - position)
            v_body = rot.T @ (target_vel - velocity) - np.cross(omega, p_body)
            np.testing.assert_allclose(jac_des[leg] @ dq_des, v_body, atol=1e-9)
        else:
            assert np.all(torques[3 * leg: 3 * leg + 3] == 0.0)


def test_first_step_prediction_is_the_linear_dynamics():
    rng = np.random.default_rng(4)
    for _ in range(20):
        x0 = rng.normal(0, 1.0, 13)
        x0[12] = -9.81
        a_c, _ = continuous_dynamics(x0[2], rng.normal(0, 0.2, (4, 3)), 12.0, np.diag([0.1, 0.3, 0.3]))
        np.testing.assert_allclose(first_step_prediction(x0, 0.025), (np.eye(13) + 0.025 * a_c) @ x0, atol=1e-12)


def test_forces_to_torques_is_minus_j_transpose_r_transpose_f():
    rng = np.random.default_rng(5)
    jac = kin.leg_jacobians(random_angles(rng), ROBOT.leg_sides, *GEOM)
    rot = kin.quaternion_to_rotation(kin.rpy_to_quaternion(rng.normal(0, 0.2, 3)))
    forces = rng.normal(0, 40.0, (4, 3))
    expected = np.concatenate([-jac[leg].T @ (rot.T @ forces[leg]) for leg in range(4)])
    np.testing.assert_allclose(forces_to_torques(forces, rot, jac), expected, atol=1e-10)


def test_limit_torques_matches_the_elementwise_rule():
    rng = np.random.default_rng(6)
    low, high = np.full(12, -1.0), np.full(12, 1.0)
    limits = np.full(12, 30.0)
    for _ in range(200):
        q = rng.uniform(-1.3, 1.3, 12)
        tau = rng.normal(0, 30.0, 12)
        tau[rng.integers(12)] = rng.choice([np.nan, np.inf, 5.0])
        out, pushed, clipped = limit_torques(tau, q, low, high, 150.0, limits)
        limited = np.where(q < low, np.maximum(tau, 150.0 * (low - q)), tau)
        limited = np.where(q > high, np.minimum(limited, 150.0 * (high - q)), limited)
        bounded = np.clip(limited, -limits, limits)
        np.testing.assert_array_equal(out, np.where(np.isfinite(bounded), bounded, 0.0))
        finite = np.isfinite(tau)
        assert pushed == bool(np.any((limited != tau)[finite]))
        assert clipped == bool(np.any((bounded != limited)[finite]))


@pytest.mark.parametrize("seed", range(3))
def test_leg_contact_states_match_the_mask_rules(seed):
    rng = np.random.default_rng(seed)
    early, lost_time = np.zeros(4, dtype=bool), np.zeros(4)
    for _ in range(200):
        desired, contact = rng.random(4) < 0.5, rng.random(4) < 0.5
        progress = np.where(desired, 0.0, rng.random(4))
        stance, swing, lost, early_new, lost_new = leg_contact_states(desired, contact, progress, early, lost_time,
                                                                      0.002, 0.5, 0.004, 0.4)
        expected_early = (early | (~desired & contact & (progress >= 0.5))) & ~desired
        expected_time = np.where(desired & ~contact, lost_time + 0.002, 0.0)
        expected_lost = expected_time > 0.004
        np.testing.assert_array_equal(early_new, expected_early)
        np.testing.assert_array_equal(lost_new, expected_time)
        np.testing.assert_array_equal(lost, expected_lost)
        # while a foot searches for ground, planted feet due to swing stay down until 0.4 of their swing
        held = expected_lost.any() & ~desired & contact & ~expected_early & (progress < 0.4)
        np.testing.assert_array_equal(stance, (desired & ~expected_lost) | expected_early | held)
        np.testing.assert_array_equal(swing, ~desired & ~expected_early & ~held)
        early, lost_time = early_new, lost_new


def test_touchdown_times_and_hips_at_touchdown():
    desired = np.array([True, False, False, True])
    stance_progress, swing_progress = np.array([0.25, 0.0, 0.0, 0.5]), np.array([0.0, 0.5, 0.1, 0.0])
    np.testing.assert_allclose(touchdown_times(desired, stance_progress, swing_progress, 0.2, 0.1),
                               [0.25, 0.05, 0.09, 0.2])
    nominal = ROBOT.hip_offsets
    times = np.array([0.1, 0.2, 0.3, 0.4])
    hips = hips_at_touchdown_heading(np.array([1.0, 2.0, 0.3]), 0.4, 0.5, times, nominal)
    for leg in range(4):
        expected = np.array([1.0, 2.0, 0.3]) + kin.rotation_z(0.4) @ kin.rotation_z(0.5 * times[leg]) @ nominal[leg]
        np.testing.assert_allclose(hips[leg], expected, atol=1e-12)
