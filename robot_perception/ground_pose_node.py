"""ROS 2 ground pose node: the camera's pose relative to the ground ahead, and the corridor's profile.

    subscribes  perception/depth (sensor_msgs/Image 32FC1, metres: the depth node's), perception/labels
                (sensor_msgs/Image mono8: the segmentation node's; a frame is processed when both of
                one camera stamp have arrived), camera/camera_info, imu/data (sensor_msgs/Imu: the
                trunk's attitude, for the gravity frame; older than ``imu_timeout_s``: no pose)
    publishes   perception/ground_pose (geometry_msgs/PoseStamped: the near ground's frame, 0.5-2 m
                ahead, in the camera's optical frame: x along the ground in the walking direction,
                y left, z its normal, origin straight below the camera; only when that ground is in view)
                perception/ground_pose_fields (std_msgs/Float32MultiArray, layout label
                "slope_along_deg,slope_across_deg,slope_change_deg,camera_height_m,far_seen"; NaN when
                unknown; slope_change_deg is the far window's (2-3.5 m) slope minus the near one's, NaN
                when the far ground is out of sight), one per frame
                perception/depth_summary (std_msgs/Float32MultiArray, layout label DEPTH_SUMMARY_LABEL:
                the corridor's ground height at 1.0 ... 3.0 m ahead relative to 0.5 m, then a seen flag
                per knot), one per frame with camera_info and attitude
                perception/ground_pose_status (std_msgs/String, one per frame: ok, no_ground_in_view,
                no_attitude, no_camera_info, bad_image)

The estimator is ``robot_perception.ground_pose.GroundPoseEstimator`` (parameter ``model``: a
checkpoint, default the shipped models/ground_pose.pt); ``camera_mount_pitch_deg`` is the camera's
downward pitch on the trunk (config/camera.yaml's in simulation); ``perception_checkpoint`` names the
perception model whose class ids the labels carry (default the shipped one).
Run here without `ros2 run`: python -m robot_perception.ground_pose_node
"""

from __future__ import annotations

import math
import sys

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, String

from robot_perception.checkpoint import load_checkpoint
from robot_perception.ground_pose import (DEPTH_SUMMARY_KNOTS_M, POSE_VECTOR_FIELDS, GroundPoseEstimator,
                                          ground_frame_in_camera)
from robot_perception.inference import ImageError
from robot_perception.melon.poses import rotation_to_quaternion
from robot_perception.node_setup import CameraGeometry, default_checkpoint, shipped_model
from robot_perception.pointcloud import obstacle_class_ids
from robot_perception.ros_images import image_to_array
from semantic_locomotion.ros_main import spin_node

OK, NO_GROUND, NO_ATTITUDE, NO_CAMERA_INFO, BAD_IMAGE = ("ok", "no_ground_in_view", "no_attitude", "no_camera_info",
                                                         "bad_image")
POSE_FIELDS_LABEL = ",".join(POSE_VECTOR_FIELDS)
DEPTH_SUMMARY_LABEL = ",".join([f"height_at_{k:g}_m" for k in DEPTH_SUMMARY_KNOTS_M[1:]]
                               + [f"seen_{k:g}_m" for k in DEPTH_SUMMARY_KNOTS_M[1:]])


def labelled_array(values, label: str) -> Float32MultiArray:
    values = [float(v) for v in values]
    msg = Float32MultiArray(data=values)
    msg.layout.dim = [MultiArrayDimension(label=label, size=len(values), stride=len(values))]
    return msg


class GroundPoseNode(Node):
    def __init__(self):
        super().__init__("ground_pose")
        self.declare_parameter("model", "")  # "": the shipped models/ground_pose.pt
        self.declare_parameter("perception_checkpoint", "")  # "": the shipped models/terrain_net.pt
        self.declare_parameter("threads", 1)
        gp = lambda name: self.get_parameter(name).value
        self.estimator = GroundPoseEstimator(gp("model") or shipped_model("ground_pose.pt"), int(gp("threads")))
        class_names = tuple(load_checkpoint(gp("perception_checkpoint") or default_checkpoint())[1]["class_names"])
        self.walkable_ids = obstacle_class_ids(class_names)[0]
        self.camera = CameraGeometry(self)
        self.pending: dict[str, Image] = {}  # the latest depth and labels, until one of each shares a stamp
        self.create_subscription(Image, "perception/depth", lambda m: self.on_frame_part("depth", m), 5)
        self.create_subscription(Image, "perception/labels", lambda m: self.on_frame_part("labels", m), 5)
        self.pose_pub = self.create_publisher(PoseStamped, "perception/ground_pose", 5)
        self.fields_pub = self.create_publisher(Float32MultiArray, "perception/ground_pose_fields", 5)
        self.summary_pub = self.create_publisher(Float32MultiArray, "perception/depth_summary", 5)
        self.status_pub = self.create_publisher(String, "perception/ground_pose_status", 5)

    def on_frame_part(self, kind: str, msg: Image) -> None:
        self.pending[kind] = msg
        depth, labels = self.pending.get("depth"), self.pending.get("labels")
        if depth is None or labels is None or depth.header.stamp != labels.header.stamp:
            return
        self.pending.clear()
        self.process(depth, labels)

    def publish_unknown(self, status: str) -> None:
        self.fields_pub.publish(labelled_array([math.nan] * len(POSE_VECTOR_FIELDS), POSE_FIELDS_LABEL))
        self.status_pub.publish(String(data=status))

    def process(self, depth_msg: Image, labels_msg: Image) -> None:
        try:
            depth, labels = image_to_array(depth_msg), image_to_array(labels_msg)
        except ImageError as exc:
            self.get_logger().error(f"perception/depth or labels: {exc}", throttle_duration_sec=5.0)
            return self.publish_unknown(BAD_IMAGE)
        if depth.shape != labels.shape:
            self.get_logger().error(f"perception/depth {depth.shape} and labels {labels.shape} differ in size",
                                    throttle_duration_sec=5.0)
            return self.publish_unknown(BAD_IMAGE)
        if self.camera.intrinsics is None:
            return self.publish_unknown(NO_CAMERA_INFO)
        up = self.camera.camera_up()
        if up is None:
            return self.publish_unknown(NO_ATTITUDE)
        geometry = self.estimator.frame_geometry(depth, np.isin(labels, self.walkable_ids), self.camera.intrinsics, up)
        self.summary_pub.publish(labelled_array(geometry.summary_vector(), DEPTH_SUMMARY_LABEL))
        self.fields_pub.publish(labelled_array(geometry.pose_fields(), POSE_FIELDS_LABEL))
        self.status_pub.publish(String(data=OK if geometry.pose is not None else NO_GROUND))
        if geometry.pose is not None:
            origin, rotation = ground_frame_in_camera(geometry.pose, up)
            msg = PoseStamped()
            msg.header = depth_msg.header
            msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in origin)
            q = rotation_to_quaternion(rotation)
            msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = (
                float(v) for v in q)
            self.pose_pub.publish(msg)


def main(args=None) -> int:
    return spin_node(GroundPoseNode, "ground_pose_node", args)


if __name__ == "__main__":
    sys.exit(main())
