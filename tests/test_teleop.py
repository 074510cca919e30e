"""Teleop: the joystick's dead-man button and the keyboard's steps; both nodes over real DDS (the keyboard
one on a pseudo-terminal)."""

import os
import pty
import subprocess
import sys
import termios
import time

import pytest

from locomotion.commands import VelocityCommand
from locomotion.teleop import JoyConfig, JoyTeleop, KeyboardConfig, KeyboardTeleop, load_teleop_config
from tests.ros_helpers import spin_until, start_node, stop_node

HELD, RELEASED = [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]
AXES = [0.0, 0.5, 0.0, -0.4]  # forward half, yaw right 40 %


def test_joystick_drives_only_while_the_deadman_is_held():
    config = JoyConfig()
    teleop = JoyTeleop(config)
    assert teleop.update(AXES, RELEASED) is None  # never engaged: silent
    command = teleop.update(AXES, HELD)
    assert command == VelocityCommand(0.5 * config.max_forward_mps, 0.0, -0.4 * config.max_yaw_rate_radps)
    assert teleop.update(AXES, RELEASED) == VelocityCommand()  # release: exactly one zero twist
    assert teleop.update(AXES, RELEASED) is None
    assert teleop.update(AXES, RELEASED) is None


def test_joystick_deadzone_short_messages_and_nan():
    teleop = JoyTeleop(JoyConfig())
    assert teleop.update([0.0, 0.03, 0.0, 0.0], HELD) == VelocityCommand()  # stick noise
    assert teleop.update([0.0, 1.7], HELD).forward_mps == JoyConfig().max_forward_mps  # clipped, missing axes
    assert teleop.update([0.0, float("nan"), 0.0, 0.0], HELD) == VelocityCommand()
    assert teleop.update(AXES, [1]) == VelocityCommand()  # too few buttons: not held -> release zero


def test_keyboard_steps_clamps_and_stops():
    config = KeyboardConfig()
    teleop = KeyboardTeleop(config)
    for _ in range(30):
        teleop.press("w")
    assert teleop.command.forward_mps == config.max_forward_mps
    teleop.press("s")
    assert abs(teleop.command.forward_mps - (config.max_forward_mps - config.forward_step_mps)) < 1e-9
    teleop.press("a")
    assert teleop.command.yaw_rate_radps == config.yaw_step_radps
    assert teleop.press("x") == teleop.command  # unknown keys change nothing
    assert teleop.press(" ") == VelocityCommand()
    assert teleop.press("q") is None
    for _ in range(5):
        teleop.press("s")
    assert teleop.command.forward_mps == 0.0  # never backwards from the keyboard


def test_shipped_config_loads():
    config = load_teleop_config()
    assert config.joy.deadman_button >= 0 and config.keyboard.publish_rate_hz > 0


def test_joy_node_sends_one_zero_on_release(ros_context, tmp_path):
    import rclpy
    from geometry_msgs.msg import Twist
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Joy

    env, context = ros_context
    proc = start_node("locomotion.teleop_node", [], env, tmp_path / "joy.log")
    node = rclpy.create_node("joy_test", context=context)
    received = []
    node.create_subscription(Twist, "cmd_vel", lambda m: received.append((m.linear.x, m.angular.z)), 50)
    pub = node.create_publisher(Joy, "joy", 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        def send(buttons):
            pub.publish(Joy(axes=AXES, buttons=buttons))

        assert spin_until(executor, lambda: len(received) > 0, 30.0, tick=lambda: send(HELD)), \
            (tmp_path / "joy.log").read_text()
        assert received[0][0] > 0
        for _ in range(5):
            send(RELEASED)
            executor.spin_once(timeout_sec=0.1)
        spin_until(executor, lambda: False, 1.0)
        zeros = [r for r in received if r == (0.0, 0.0)]
        assert len(zeros) == 1 and received[-1] == (0.0, 0.0)
        count = len(received)
        for _ in range(5):
            send(RELEASED)
            time.sleep(0.05)
        spin_until(executor, lambda: False, 1.0)
        assert len(received) == count  # silence after the one zero
    finally:
        executor.shutdown()
        node.destroy_node()
        assert stop_node(proc) == 0


@pytest.mark.parametrize("stop", ["ctrl-c", "q"])
def test_keyboard_node_drives_from_a_terminal_and_stops_cleanly(stop, ros_context, tmp_path):
    import rclpy
    from geometry_msgs.msg import Twist
    from rclpy.executors import SingleThreadedExecutor

    env, context = ros_context
    master, terminal = pty.openpty()
    before = termios.tcgetattr(terminal)
    with open(tmp_path / "keyboard.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "locomotion.teleop_node", "keyboard"], env=env,
                                stdin=terminal, stdout=log, stderr=subprocess.STDOUT)
    node = rclpy.create_node("keyboard_test", context=context)
    received = []
    node.create_subscription(Twist, "cmd_vel", lambda m: received.append((m.linear.x, m.angular.z)), 50)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        assert spin_until(executor, lambda: len(received) > 0, 30.0), (tmp_path / "keyboard.log").read_text()
        assert termios.tcgetattr(terminal)[3] != before[3]  # cbreak: keys arrive one by one
        os.write(master, b"ww")
        two_steps = 2 * load_teleop_config().keyboard.forward_step_mps
        assert spin_until(executor, lambda: abs(received[-1][0] - two_steps) < 1e-9, 10.0), received[-5:]
        if stop == "q":
            os.write(master, b"q")
            assert proc.wait(timeout=10) == 0, (tmp_path / "keyboard.log").read_text()
        assert stop_node(proc) == 0, (tmp_path / "keyboard.log").read_text()
        spin_until(executor, lambda: False, 0.5)
        assert received[-1] == (0.0, 0.0)  # the last word is a stop
        assert termios.tcgetattr(terminal)[3] == before[3]  # the terminal is given back as it was
    finally:
        if proc.poll() is None:
            proc.kill()
        executor.shutdown()
        node.destroy_node()
        os.close(master)
        os.close(terminal)


def test_keyboard_node_refuses_a_non_terminal_input(ros_context, tmp_path):
    env, _ = ros_context
    result = subprocess.run([sys.executable, "-m", "locomotion.teleop_node", "keyboard"], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not a terminal" in result.stderr
