"""ROS 2 speed policy node: semantic embedding (+ obstacle distance) -> desired forward speed.

    in   perception/embedding          std_msgs/Float32MultiArray  76-d embedding vector (segmentation node)
         perception/obstacle_distance  std_msgs/Float32            metres, inf clear, NaN unknown (depth node)
    out  speed_policy/cmd              geometry_msgs/TwistStamped  linear.x = desired speed (m/s)

Published at ``rate_hz``; with no fresh embedding the command is zero, and with no valid obstacle
reading (clear or a distance) for ``obstacle.unknown_after_s`` (NaNs, none yet, or a depth node
that stopped publishing; readings are timed on arrival) it is at most the slow gait's speed
(``SpeedPolicy``). The checkpoint must have been trained on the embedding of the perception
checkpoint given here.
Run here without `ros2 run`:  python -m locomotion.speed_policy_node
"""

from __future__ import annotations

import sys

import numpy as np
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from std_msgs.msg import Float32, Float32MultiArray

from locomotion.speed_policy import (SpeedPolicy, SpeedPolicyError, load_speed_policy,
                                     load_speed_policy_config)
from semantic_locomotion.ros_main import spin_node


def perception_sha256(checkpoint: str) -> str:
    from robot_perception.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint)[1]["sha256"]


class SpeedPolicyNode(Node):
    def __init__(self):
        from robot_perception.node_setup import default_checkpoint
        from sim.trail_run import models_dir

        super().__init__("speed_policy")
        self.declare_parameter("model", "")  # "": the shipped models/speed_policy.pt
        self.declare_parameter("perception_checkpoint", "")  # "": the shipped models/terrain_net.pt
        self.declare_parameter("config", "")
        self.declare_parameter("rate_hz", 20.0)
        self.declare_parameter("base_frame", "base_link")
        gp = lambda name: self.get_parameter(name).value
        net, _ = load_speed_policy(gp("model") or models_dir() / "speed_policy.pt",
                                   perception_sha256(gp("perception_checkpoint") or default_checkpoint()))
        self.policy = SpeedPolicy(net, load_speed_policy_config(gp("config") or None))
        self.frame = gp("base_frame")
        self.create_subscription(Float32MultiArray, "perception/embedding", self.on_embedding, 5)
        self.create_subscription(Float32, "perception/obstacle_distance", self.on_obstacle, 5)
        self.pub = self.create_publisher(TwistStamped, "speed_policy/cmd", 10)
        self.create_timer(1.0 / float(gp("rate_hz")), self.on_tick)

    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def on_embedding(self, msg: Float32MultiArray) -> None:
        try:
            self.policy.observe_features(np.array(msg.data, dtype=np.float32), self.now_s())
        except SpeedPolicyError as exc:
            self.get_logger().error(f"perception/embedding: {exc}", throttle_duration_sec=5.0)

    def on_obstacle(self, msg: Float32) -> None:
        self.policy.observe_obstacle(float(msg.data), self.now_s())

    def on_tick(self) -> None:
        out = TwistStamped()
        out.header.stamp = self.get_clock().now().to_msg()
        out.header.frame_id = self.frame
        out.twist.linear.x = self.policy.command(self.now_s())
        self.pub.publish(out)


def main(args=None) -> int:
    return spin_node(SpeedPolicyNode, "speed_policy_node", args)


if __name__ == "__main__":
    sys.exit(main())
