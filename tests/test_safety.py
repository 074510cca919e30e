"""Faults never reach the motors: non-finite values, QP failures, stale or bad commands."""

import dataclasses
import logging

import numpy as np
import pytest

from locomotion.commands import CommandFilter, CommandLimits, VelocityCommand
from locomotion.controller import LocomotionController, load_controller_config
from locomotion.robot_model import load_robot
from locomotion.safety import EventLog, SafetyConfig, SafetyFilter
from sim.world import SimWorld, load_sim_config

ROBOT = load_robot("a1")


def make_filter():
    return SafetyFilter(ROBOT, SafetyConfig(), EventLog())


def test_non_finite_torques_become_a_damped_stand():
    safety = make_filter()
    out = safety.filter(np.full(12, np.nan), ROBOT.stand_pose + 0.1, np.zeros(12))
    assert np.all(np.isfinite(out))
    assert np.all(out < 0)  # pulling back towards the standing pose
    assert safety.events.counts["non_finite_torque"] == 1


def test_torques_are_clipped_to_the_motor_limit():
    out = make_filter().filter(np.full(12, 100.0), ROBOT.stand_pose, np.zeros(12))
    np.testing.assert_allclose(out, ROBOT.torque_limit_nm)


def test_joint_limits_push_back():
    safety = make_filter()
    lower, _ = ROBOT.joint_limits
    q = ROBOT.stand_pose.copy()
    q[2] = lower[2] + 0.01  # calf inside the margin
    out = safety.filter(np.full(12, -5.0), q, np.zeros(12))
    assert out[2] > 0 and out[0] == -5.0


def test_events_are_logged_once(caplog):
    events = EventLog()
    with caplog.at_level(logging.WARNING):
        for _ in range(100):
            events.record("qp_failure", "x")
    assert events.counts["qp_failure"] == 100
    assert len(caplog.records) == 1


def run_controller(controller, world, seconds, before_step=None):
    sensors = world.sensors()
    outputs = []
    for i in range(int(seconds / world.dt)):
        if before_step:
            sensors = before_step(i, sensors)
        torques = controller.update(sensors, world.ground_truth())
        assert np.all(np.isfinite(torques)) and np.all(np.abs(torques) <= ROBOT.torque_limit_nm)
        outputs.append(torques)
        world.step(torques)
        sensors = world.sensors()
    return outputs


@pytest.fixture
def walking():
    world = SimWorld(ROBOT, load_sim_config())
    controller = LocomotionController(ROBOT, load_controller_config())
    controller.reset(world.sensors())
    run_controller(controller, world, 1.2)
    controller.set_gait("trot")
    yield controller, world
    world.close()


def test_nan_sensor_reading_stops_safely(walking):
    controller, world = walking

    def corrupt(i, sensors):
        controller.set_command(VelocityCommand(0.5), sensors.time_s)
        if i >= 100:
            sensors.joint_velocities = sensors.joint_velocities.copy()
            sensors.joint_velocities[4] = np.nan
        return sensors

    run_controller(controller, world, 1.0, corrupt)
    assert controller.mode == "damped_stand"
    assert controller.events.counts["non_finite_sensor"] > 1
    assert world.ground_truth().position[2] > 0.1  # sitting down, not collapsed


def test_qp_failure_falls_back_then_damped_stand():
    world = SimWorld(ROBOT, load_sim_config())
    base = load_controller_config()
    config = dataclasses.replace(base, mpc=dataclasses.replace(base.mpc, osqp_max_iter=1))
    controller = LocomotionController(ROBOT, config)
    controller.reset(world.sensors())
    run_controller(controller, world, 1.0)  # stand-up does not use the MPC
    controller.set_gait("trot")
    run_controller(controller, world, 0.5)
    assert controller.events.counts["qp_failure"] >= 1
    assert controller.events.counts["qp_failure_timeout"] == 1
    assert controller.mode == "damped_stand"
    world.close()


def test_stale_command_stops_the_robot(walking):
    controller, world = walking
    controller.set_command(VelocityCommand(1.0), world.time_s)
    run_controller(controller, world, 2.0)  # nobody re-sends the command
    assert controller.events.counts["stale_command"] == 1
    assert np.all(controller.commands.target == 0.0)
    assert abs(world.ground_truth().linear_velocity[0]) < 0.3


def test_non_finite_command_is_rejected(walking):
    controller, world = walking
    tracked = controller.set_command(VelocityCommand(np.nan, 0.0, 0.0), world.time_s)
    assert tracked == VelocityCommand()
    assert controller.events.counts["non_finite_command"] == 1


def test_commands_are_clipped_with_one_warning(caplog):
    filt = CommandFilter(CommandLimits())
    with caplog.at_level(logging.WARNING):
        for _ in range(10):
            out = filt.set(VelocityCommand(5.0, -2.0, 0.1))
    assert out == VelocityCommand(2.5, -0.6, 0.1)
    assert len([r for r in caplog.records if "forward_mps" in r.getMessage()]) == 1
    with pytest.raises(ValueError, match="yaw_rate_radps"):
        filt.clip(VelocityCommand(0.0, 0.0, np.inf))


def test_command_ramps_at_the_acceleration_limit():
    filt = CommandFilter(CommandLimits(max_linear_accel_mps2=1.0))
    filt.set(VelocityCommand(2.0))
    speeds = [filt.update(0.01).forward_mps for _ in range(300)]
    assert speeds[49] == pytest.approx(0.5) and speeds[-1] == pytest.approx(2.0)
    assert np.all(np.diff(speeds) <= 0.01 + 1e-12)
