"""ROS 2 gait selector node: the speed policy's speed + the operator's steering -> cmd_vel + gait.

    in   speed_policy/cmd   geometry_msgs/TwistStamped   desired forward speed (linear.x)
         operator/cmd_vel   geometry_msgs/Twist          the operator's steering (angular.z is used)
    out  cmd_vel            geometry_msgs/Twist          forward speed + yaw rate for the controller
         gait/params        std_msgs/Float64MultiArray   the selected gait, layout GAIT_FIELDS

A speed older than ``stale_after_s`` (or none yet) means stop: zero forward speed, slow gait.
Steering older than that means no turning. Run here without `ros2 run`:
    python -m locomotion.gait_selector_node
"""

from __future__ import annotations

import sys

import numpy as np
from geometry_msgs.msg import Twist, TwistStamped
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray, MultiArrayDimension

from locomotion.gait import GaitParameters
from locomotion.gait_selector import load_gait_selector
from semantic_locomotion.ros_main import spin_node

GAIT_FIELDS = ("stepping_frequency_hz", "duty_factor", "phase_offset_FR", "phase_offset_FL", "phase_offset_RR",
               "phase_offset_RL", "swing_height_m", "base_height_m")


def gait_message(gait: GaitParameters) -> Float64MultiArray:
    msg = Float64MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=",".join(GAIT_FIELDS), size=len(GAIT_FIELDS), stride=len(GAIT_FIELDS))]
    msg.data = [float(v) for v in gait.as_array()]
    return msg


def gait_from_message(msg: Float64MultiArray) -> GaitParameters:
    """The gait in a gait/params message; ValueError naming what is wrong."""
    if len(msg.data) != len(GAIT_FIELDS):
        raise ValueError(f"gait/params: expected {len(GAIT_FIELDS)} values ({', '.join(GAIT_FIELDS)}), "
                         f"got {len(msg.data)}")
    values = np.array(msg.data, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"gait/params: non-finite value in {values.tolist()}")
    return GaitParameters.from_array(values)


class GaitSelectorNode(Node):
    def __init__(self):
        super().__init__("gait_selector")
        self.declare_parameter("config", "")
        self.declare_parameter("rate_hz", 50.0)
        self.declare_parameter("stale_after_s", 0.5)
        self.selector = load_gait_selector(self.get_parameter("config").value or None)
        self.stale_ns = int(float(self.get_parameter("stale_after_s").value) * 1e9)
        self.speed, self.speed_time = 0.0, None
        self.yaw_rate, self.yaw_time = 0.0, None
        self.create_subscription(TwistStamped, "speed_policy/cmd", self.on_speed, 10)
        self.create_subscription(Twist, "operator/cmd_vel", self.on_operator, 10)
        self.cmd_pub = self.create_publisher(Twist, "cmd_vel", 10)
        self.gait_pub = self.create_publisher(Float64MultiArray, "gait/params", 10)
        self.create_timer(1.0 / float(self.get_parameter("rate_hz").value), self.on_tick)

    def on_speed(self, msg: TwistStamped) -> None:
        if not np.isfinite(msg.twist.linear.x):
            self.get_logger().warning("speed_policy/cmd: non-finite speed ignored", throttle_duration_sec=5.0)
            return
        self.speed, self.speed_time = float(msg.twist.linear.x), self.get_clock().now().nanoseconds

    def on_operator(self, msg: Twist) -> None:
        if np.isfinite(msg.angular.z):
            self.yaw_rate, self.yaw_time = float(msg.angular.z), self.get_clock().now().nanoseconds

    def _fresh(self, stamp_ns: int | None) -> bool:
        return stamp_ns is not None and self.get_clock().now().nanoseconds - stamp_ns <= self.stale_ns

    def on_tick(self) -> None:
        speed = self.speed if self._fresh(self.speed_time) else 0.0
        yaw_rate = self.yaw_rate if self._fresh(self.yaw_time) else 0.0
        cmd = Twist()
        cmd.linear.x, cmd.angular.z = speed, yaw_rate
        self.cmd_pub.publish(cmd)
        self.gait_pub.publish(gait_message(self.selector.select(speed)))


def main(args=None) -> int:
    return spin_node(GaitSelectorNode, "gait_selector_node", args)


if __name__ == "__main__":
    sys.exit(main())
