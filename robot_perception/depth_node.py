"""ROS 2 depth node: camera image in; metric depth, a point cloud and the corridor obstacle check out.

    subscribes  camera/image_raw (rgb8/bgr8; sensor-data QoS, depth 2), camera/camera_info,
                imu/data (sensor_msgs/Imu: the trunk's attitude, for the slope limit in the
                gravity frame; without a reading younger than ``imu_timeout_s`` the check uses the
                gravity-free limit)
    publishes   perception/depth (sensor_msgs/Image 32FC1, metres, the camera's header)
                perception/points (sensor_msgs/PointCloud2 xyz float32, camera optical frame)
                perception/obstacle_distance (std_msgs/Float32: nearest obstacle in the walking
                corridor, m; +inf when clear; NaN when unknown), one per image
                perception/obstacle_status (std_msgs/String: why, one per image: clear, obstacle,
                no_ground_in_view, no_camera_info (no camera/camera_info yet: no points, no
                check), bad_image)

The corridor check is ``robot_perception.pointcloud.corridor_reading`` with config/corridor.yaml
(parameter ``corridor_config``: another file; ``corridor_half_width_m`` overrides its half width;
``camera_mount_pitch_deg`` is the camera's downward pitch on the trunk, config/camera.yaml's in
simulation).
Run here without `ros2 run`: python -m robot_perception.depth_node
"""

from __future__ import annotations

import dataclasses
import sys

from rclpy.node import Node
from sensor_msgs.msg import Image, PointCloud2
from std_msgs.msg import Float32, String

from robot_perception.node_setup import CameraGeometry, camera_qos, perceive, perception_from_parameters
from robot_perception.pointcloud import (BAD_IMAGE, NO_CAMERA_INFO, CorridorReading, corridor_reading,
                                         depth_to_points, load_corridor_config, obstacle_class_ids, vegetation_heights)
from robot_perception.ros_images import image_message, point_cloud_message
from semantic_locomotion.ros_main import spin_node


class DepthNode(Node):
    def __init__(self):
        super().__init__("terrain_depth")
        self.declare_parameter("point_stride", 2)
        self.declare_parameter("corridor_config", "")  # "": the shipped config/corridor.yaml
        corridor = load_corridor_config(self.get_parameter("corridor_config").value or None)
        self.declare_parameter("corridor_half_width_m", corridor.half_width_m)
        self.perception = perception_from_parameters(self)
        self.corridor = dataclasses.replace(
            corridor, half_width_m=float(self.get_parameter("corridor_half_width_m").value))
        self.stride = int(self.get_parameter("point_stride").value)
        self.walkable_ids, self.rangeless_ids = obstacle_class_ids(self.perception.class_names)
        self.vegetation = vegetation_heights(self.perception.class_names, self.corridor)
        self.camera = CameraGeometry(self)
        self.create_subscription(Image, "camera/image_raw", self.on_image, camera_qos())
        self.depth_pub = self.create_publisher(Image, "perception/depth", 5)
        self.points_pub = self.create_publisher(PointCloud2, "perception/points", 5)
        self.obstacle_pub = self.create_publisher(Float32, "perception/obstacle_distance", 5)
        self.status_pub = self.create_publisher(String, "perception/obstacle_status", 5)

    def publish_reading(self, reading: CorridorReading) -> None:
        self.obstacle_pub.publish(Float32(data=reading.distance_m))
        self.status_pub.publish(String(data=reading.status))

    def on_image(self, msg: Image) -> None:
        out = perceive(self, self.perception, msg)
        if out is None:
            self.publish_reading(CorridorReading.unknown(BAD_IMAGE))
            return
        stamp, frame = msg.header.stamp, msg.header.frame_id
        self.depth_pub.publish(image_message(out.depth_m, "32FC1", stamp, frame))
        if self.camera.intrinsics is None:
            self.get_logger().warning("no camera/camera_info yet; point cloud and obstacle check skipped", once=True)
            self.publish_reading(CorridorReading.unknown(NO_CAMERA_INFO))
            return
        points, _ = depth_to_points(out.depth_m, self.camera.intrinsics, self.stride)
        self.points_pub.publish(point_cloud_message(points, stamp, frame))
        self.publish_reading(corridor_reading(out.depth_m, out.labels, self.camera.intrinsics, self.walkable_ids,
                                              self.corridor, self.stride, self.rangeless_ids,
                                              up=self.camera.camera_up(), vegetation=self.vegetation))


def main(args=None) -> int:
    return spin_node(DepthNode, "depth_node", args)


if __name__ == "__main__":
    sys.exit(main())
