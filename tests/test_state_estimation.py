"""The Kalman state estimator on a standing robot and against a known leg-odometry answer."""

import numpy as np
import pytest

from locomotion.controller import LocomotionController, load_controller_config
from locomotion.robot_model import load_robot
from locomotion.robot_state import SensorReadings
from locomotion.state_estimation import EstimatorConfig, KalmanStateEstimator
from sim.world import SimWorld, load_sim_config

ROBOT = load_robot("a1")


def test_planted_feet_moving_backwards_mean_forward_motion():
    """Joint velocities that sweep all feet backwards at 0.5 m/s imply a 0.5 m/s forward trunk."""
    estimator = KalmanStateEstimator(ROBOT, EstimatorConfig(initial_height_m=0.27))
    from locomotion.state_estimation import leg_kinematics

    q = ROBOT.stand_pose.copy()
    probe = SensorReadings(0.0, q, np.zeros(12), np.array([0, 0, 0, 1.0]), np.zeros(3),
                           np.array([0, 0, 9.81]), np.ones(4, bool))
    _, jac, _ = leg_kinematics(ROBOT, probe)
    dq = np.concatenate([np.linalg.solve(jac[leg], [-0.5, 0.0, 0.0]) for leg in range(4)])
    for i in range(500):
        sensors = SensorReadings(i * 0.002, q, dq, np.array([0, 0, 0, 1.0]), np.zeros(3),
                                 np.array([0, 0, 9.81]), np.ones(4, bool))
        state = estimator.update(sensors, 0.002, np.ones(4, bool))
    np.testing.assert_allclose(state.linear_velocity, [0.5, 0.0, 0.0], atol=1e-3)
    assert state.position[0] == pytest.approx(0.5, abs=0.03)


def test_standing_robot_estimate_matches_ground_truth():
    with SimWorld(ROBOT, load_sim_config()) as world:
        controller = LocomotionController(ROBOT, load_controller_config())
        sensors = world.sensors()
        controller.reset(sensors)
        for _ in range(int(2.0 / world.dt)):
            world.step(controller.update(sensors, world.ground_truth()))
            sensors = world.sensors()
        state = controller.status.state
        truth = world.ground_truth()
    assert np.linalg.norm(state.linear_velocity - truth.linear_velocity) < 0.05
    assert state.position[2] == pytest.approx(truth.position[2], abs=0.01)
