"""ROS 2 speed policy node: semantic embedding (+ ground pose, depth summary, obstacle distance) -> speed.

    in   perception/embedding            std_msgs/Float32MultiArray  76-d embedding vector (segmentation node)
         perception/depth_summary        std_msgs/Float32MultiArray  the corridor's profile (ground pose node),
                                                                     if the policy reads depth
         perception/ground_pose_fields   std_msgs/Float32MultiArray  the ground pose (ground pose node), if the
                                                                     policy reads the pose
         perception/obstacle_distance    std_msgs/Float32            metres, inf clear, NaN unknown (depth node)
    out  speed_policy/cmd                geometry_msgs/TwistStamped  linear.x = desired speed (m/s)

The policy decides on each embedding, with the latest depth summary and pose (the checkpoint's
``inputs`` say which it reads); one not received within ``geometry_timeout_s`` before the embedding
counts as missing, and that frame's speed is at most the slow gait's. Published at ``rate_hz``; with
no fresh embedding the command is zero, and with no valid obstacle reading (clear or a distance) for
``obstacle.unknown_after_s`` (NaNs, none yet, or a depth node that stopped publishing; readings are
timed on arrival) it is at most the slow gait's speed (``SpeedPolicy``). The checkpoint must have
been trained on the embedding of the perception checkpoint given here (and on the pose of the
ground-pose model given here, if it reads the pose).
Run here without `ros2 run`:  python -m locomotion.speed_policy_node
"""

from __future__ import annotations

import math
import sys

import numpy as np
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from std_msgs.msg import Float32, Float32MultiArray

from locomotion.speed_policy import (SpeedPolicy, SpeedPolicyError, load_speed_policy, load_speed_policy_config,
                                     policy_features, policy_inputs, pose_input)
from semantic_locomotion.ros_main import spin_node

GEOMETRY_TOPICS = {"depth": "perception/depth_summary", "pose": "perception/ground_pose_fields"}


def model_sha256(checkpoint: str, kind: str) -> str:
    from robot_perception.checkpoint import load_checkpoint
    from robot_perception.ground_pose import load_ground_pose

    return (load_checkpoint if kind == "perception" else load_ground_pose)(checkpoint)[1]["sha256"]


class SpeedPolicyNode(Node):
    def __init__(self):
        from robot_perception.ground_pose import DEPTH_SUMMARY_SIZE, POSE_VECTOR_FIELDS
        from robot_perception.node_setup import default_checkpoint, shipped_model

        super().__init__("speed_policy")
        self.declare_parameter("model", "")  # "": the shipped models/speed_policy.pt
        self.declare_parameter("perception_checkpoint", "")  # "": the shipped models/terrain_net.pt
        self.declare_parameter("ground_pose_model", "")  # "": the shipped models/ground_pose.pt
        self.declare_parameter("config", "")
        self.declare_parameter("rate_hz", 20.0)
        self.declare_parameter("geometry_timeout_s", 0.5)
        self.declare_parameter("base_frame", "base_link")
        gp = lambda name: self.get_parameter(name).value
        model = gp("model") or shipped_model("speed_policy.pt")
        _, header = load_speed_policy(model)
        self.inputs = policy_inputs(header)
        pose_sha = (model_sha256(gp("ground_pose_model") or shipped_model("ground_pose.pt"), "ground pose")
                    if "pose" in self.inputs else None)
        net, _ = load_speed_policy(model, model_sha256(gp("perception_checkpoint") or default_checkpoint(),
                                                       "perception"), pose_sha)
        self.policy = SpeedPolicy(net, load_speed_policy_config(gp("config") or None), self.inputs)
        self.geometry_timeout_s = float(gp("geometry_timeout_s"))
        self.frame = gp("base_frame")
        self.geometry: dict[str, tuple[float, np.ndarray]] = {}  # input group -> (received, values)
        self.group_sizes = {"depth": DEPTH_SUMMARY_SIZE, "pose": len(POSE_VECTOR_FIELDS)}
        self.create_subscription(Float32MultiArray, "perception/embedding", self.on_embedding, 5)
        for group, topic in GEOMETRY_TOPICS.items():
            if group in self.inputs:
                self.create_subscription(Float32MultiArray, topic,
                                         lambda msg, group=group: self.on_geometry(group, msg), 5)
        self.create_subscription(Float32, "perception/obstacle_distance", self.on_obstacle, 5)
        self.pub = self.create_publisher(TwistStamped, "speed_policy/cmd", 10)
        self.create_timer(1.0 / float(gp("rate_hz")), self.on_tick)
        self.get_logger().info(f"{model}: reads {', '.join(self.inputs)}; subscribed to perception/embedding, "
                               + "".join(f"{GEOMETRY_TOPICS[g]}, " for g in GEOMETRY_TOPICS if g in self.inputs)
                               + "perception/obstacle_distance")

    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def on_geometry(self, group: str, msg: Float32MultiArray) -> None:
        values = np.array(msg.data, dtype=np.float32)
        self.geometry[group] = (self.now_s(), pose_input(values) if group == "pose" else values)

    def on_embedding(self, msg: Float32MultiArray) -> None:
        t = self.now_s()
        groups = {group: None for group in GEOMETRY_TOPICS if group in self.inputs}
        for group in groups:
            received, values = self.geometry.get(group, (-math.inf, None))
            if t - received <= self.geometry_timeout_s:
                groups[group] = values
        complete = all(v is not None for v in groups.values())
        # a missing group reads as nothing seen (zeros), and the frame's speed is capped (observe_features)
        groups = {g: np.zeros(self.group_sizes[g], np.float32) if v is None else v for g, v in groups.items()}
        try:
            self.policy.observe_features(policy_features(self.inputs, np.array(msg.data, dtype=np.float32),
                                                         groups.get("depth"), groups.get("pose")), t, complete)
        except SpeedPolicyError as exc:
            self.get_logger().error(f"perception inputs: {exc}", throttle_duration_sec=5.0)

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
