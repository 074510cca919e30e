"""ROS 2 node around LocomotionController and the robot it drives.

The torque loop (500 Hz) stays in this process with the robot interface (PyBullet here, the
robot's driver on hardware); everything above it crosses DDS:

    subscribes  cmd_vel (geometry_msgs/Twist, yaw-aligned body frame), gait (std_msgs/String: preset name),
                gait/params (std_msgs/Float64MultiArray: a gait, layout gait_selector_node.GAIT_FIELDS)
    publishes   joint_states (sensor_msgs/JointState, Unitree names, rad, rad/s, N m)
                imu/data (sensor_msgs/Imu, frame base_link)
                odom (nav_msgs/Odometry, odom -> base_link, estimated; twist in base_link)
                ground_truth/odom (nav_msgs/Odometry, simulator only)
                controller/status (std_msgs/String, JSON: mode, events)

A command older than ``command_timeout_s`` (sim/robot time) is replaced by a stop; a non-finite
command is rejected. Run here without ``ros2 run``:  python -m locomotion.controller_node
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray, String

from locomotion.commands import VelocityCommand
from locomotion.controller import LocomotionController, load_controller_config
from locomotion.kinematics import quaternion_to_rotation
from locomotion.robot_model import MOTOR_NAMES, load_robot
from locomotion.robot_state import GroundTruth
from semantic_locomotion.ros_main import spin_node


def fill_odometry(msg: Odometry, position, orientation_xyzw, linear_velocity_body, angular_velocity_body) -> None:
    msg.pose.pose.position.x, msg.pose.pose.position.y, msg.pose.pose.position.z = map(float, position)
    o = msg.pose.pose.orientation
    o.x, o.y, o.z, o.w = map(float, orientation_xyzw)
    v = msg.twist.twist.linear
    v.x, v.y, v.z = map(float, linear_velocity_body)
    w = msg.twist.twist.angular
    w.x, w.y, w.z = map(float, angular_velocity_body)


def joint_state_message(stamp, joint_positions, joint_velocities, torques) -> JointState:
    """sensor_msgs/JointState of the 12 motors (MOTOR_NAMES order); effort = commanded torque (N m)."""
    joints = JointState()
    joints.header.stamp = stamp
    joints.name = list(MOTOR_NAMES)
    joints.position = [float(x) for x in joint_positions]
    joints.velocity = [float(x) for x in joint_velocities]
    joints.effort = [float(x) for x in torques]
    return joints


class ControllerNode(Node):
    def __init__(self, node_name: str = "locomotion_controller"):
        super().__init__(node_name)
        self.declare_parameter("robot", "a1")
        self.declare_parameter("controller_config", "")
        self.declare_parameter("backend", "sim")
        self.declare_parameter("gui", False)
        self.declare_parameter("seed", 0)
        self.declare_parameter("gait", "trot")
        self.declare_parameter("publish_rate_hz", 50.0)
        self.declare_parameter("real_time_factor", 1.0)  # sim only; <= 0 runs as fast as possible
        self.declare_parameter("odom_frame", "odom")
        self.declare_parameter("base_frame", "base_link")
        gp = lambda name: self.get_parameter(name).value

        self.robot = load_robot(gp("robot"))
        config = load_controller_config(gp("controller_config") or None)
        self.controller = LocomotionController(self.robot, config)
        if gp("backend") != "sim":
            raise ValueError(f"backend: only 'sim' is available in this package, got {gp('backend')!r}")
        self.world = self.make_world(bool(gp("gui")), int(gp("seed")))
        self.walk_gait = gp("gait")
        self.controller.gait_by_name(self.walk_gait)  # fail early on an unknown name
        self.real_time_factor = float(gp("real_time_factor"))
        self.odom_frame, self.base_frame = gp("odom_frame"), gp("base_frame")

        self.sensors = self.world.sensors()
        self.controller.reset(self.sensors)
        self.walking = False
        self.torques = np.zeros(12)

        self.joint_pub = self.create_publisher(JointState, "joint_states", 10)
        self.imu_pub = self.create_publisher(Imu, "imu/data", 10)
        self.odom_pub = self.create_publisher(Odometry, "odom", 10)
        self.truth_pub = self.create_publisher(Odometry, "ground_truth/odom", 10)
        self.status_pub = self.create_publisher(String, "controller/status", 10)
        self.create_subscription(Twist, "cmd_vel", self.on_cmd_vel, 10)
        self.create_subscription(String, "gait", self.on_gait, 10)
        self.create_subscription(Float64MultiArray, "gait/params", self.on_gait_params, 10)

        period = 1.0 / float(gp("publish_rate_hz"))
        self.steps_per_tick = max(1, round(period / self.world.dt))
        self.wall_start = time.monotonic()
        self.sim_start = self.world.time_s
        self.create_timer(period, self.on_tick)
        self.get_logger().info(
            f"controller up: {self.robot.name}, gait {self.walk_gait}, "
            f"{self.steps_per_tick} control steps per {period * 1e3:.0f} ms tick"
        )

    def make_world(self, gui: bool, seed: int):
        """The robot this node drives: a flat-ground PyBullet world here (subclasses add terrain)."""
        from sim.world import SimWorld, load_sim_config

        return SimWorld(self.robot, load_sim_config(gui=gui), seed=seed)

    def after_steps(self, stamp) -> None:
        """Hook run after each tick's control steps (subclasses publish more)."""

    # --- callbacks -----------------------------------------------------------------------------
    def on_cmd_vel(self, msg: Twist) -> None:
        command = VelocityCommand(msg.linear.x, msg.linear.y, msg.angular.z)
        if not command.is_finite():
            self.get_logger().warning(f"cmd_vel: non-finite twist rejected: {command}", once=True)
        self.controller.set_command(command, self.sensors.time_s)

    def on_gait(self, msg: String) -> None:
        try:
            self.walk_gait = msg.data
            if self.walking:
                self.controller.set_gait(msg.data)
        except ValueError as exc:
            self.get_logger().error(str(exc))

    def on_gait_params(self, msg: Float64MultiArray) -> None:
        from locomotion.gait_selector_node import gait_from_message

        try:
            gait = gait_from_message(msg)
        except ValueError as exc:
            self.get_logger().error(str(exc), throttle_duration_sec=5.0)
            return
        self.walk_gait = gait
        if self.walking:
            self.controller.set_gait(gait)

    def on_tick(self) -> None:
        if self.real_time_factor > 0:
            sim_elapsed = self.world.time_s - self.sim_start
            wall_elapsed = time.monotonic() - self.wall_start
            if sim_elapsed > wall_elapsed * self.real_time_factor:
                return
        for _ in range(self.steps_per_tick):
            self.torques = self.controller.update(self.sensors, self.world.ground_truth())
            self.world.step(self.torques)
            self.sensors = self.world.sensors()
            if not self.walking and self.controller.mode == "walk":
                self.controller.set_gait(self.walk_gait)
                self.walking = True
        self.publish()
        self.after_steps(self.get_clock().now().to_msg())

    # --- output --------------------------------------------------------------------------------
    def publish(self) -> None:
        stamp = self.get_clock().now().to_msg()
        s = self.sensors
        self.joint_pub.publish(joint_state_message(stamp, s.joint_positions, s.joint_velocities, self.torques))

        imu = Imu()
        imu.header.stamp = stamp
        imu.header.frame_id = self.base_frame
        imu.orientation.x, imu.orientation.y, imu.orientation.z, imu.orientation.w = map(float, s.imu_orientation_xyzw)
        imu.angular_velocity.x, imu.angular_velocity.y, imu.angular_velocity.z = map(float, s.imu_angular_velocity)
        a = s.imu_linear_acceleration
        imu.linear_acceleration.x, imu.linear_acceleration.y, imu.linear_acceleration.z = map(float, a)
        self.imu_pub.publish(imu)

        state = self.controller.status.state if self.controller.status else None
        if state is not None:
            odom = Odometry()
            odom.header.stamp = stamp
            odom.header.frame_id = self.odom_frame
            odom.child_frame_id = self.base_frame
            fill_odometry(odom, state.position, s.imu_orientation_xyzw, state.linear_velocity_body,
                          state.angular_velocity_body)
            self.odom_pub.publish(odom)

        truth: GroundTruth = self.world.ground_truth()
        rot = quaternion_to_rotation(truth.orientation_xyzw)
        gt = Odometry()
        gt.header.stamp = stamp
        gt.header.frame_id = self.odom_frame
        gt.child_frame_id = self.base_frame
        fill_odometry(gt, truth.position, truth.orientation_xyzw, rot.T @ truth.linear_velocity,
                      rot.T @ truth.angular_velocity)
        self.truth_pub.publish(gt)

        status = {"mode": self.controller.mode, "sim_time_s": round(self.world.time_s, 3),
                  "events": dict(self.controller.events.counts)}
        self.status_pub.publish(String(data=json.dumps(status)))

    def destroy_node(self):
        self.world.close()
        return super().destroy_node()


def main(args=None) -> int:
    return spin_node(ControllerNode, "controller_node", args)


if __name__ == "__main__":
    sys.exit(main())
