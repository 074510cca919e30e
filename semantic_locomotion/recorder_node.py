"""ROS 2 recorder node: demonstrations as a rosbag2/MCAP bag (``semantic_locomotion.bag``).

Records each topic of ``topics`` ("name:package/msg/Type" strings; default ``DEMO_TOPICS``: the
camera, the commanded twist and the robot's state) as serialised CDR, with receive-time stamps,
into the bag ``output`` (a new directory; default ``demos/teleop_<UTC time>``). The bag is
flushed every ``flush_period_s``: if the node is killed, everything up to the last flush is
readable (``semloco demos`` reads it as is; ``ros2 bag reindex`` or ``bag.reindex_bag`` restores
the summary). SIGINT/SIGTERM close it cleanly.

    python -m semantic_locomotion.recorder_node --ros-args -p output:=demos/run1
"""

from __future__ import annotations

import importlib
import sys
import time

from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data

from semantic_locomotion.bag import BagError, BagWriter
from semantic_locomotion.ros_main import spin_node

DEMO_TOPICS = (
    "/camera/image_raw:sensor_msgs/msg/Image",
    "/camera/camera_info:sensor_msgs/msg/CameraInfo",
    "/cmd_vel:geometry_msgs/msg/Twist",
    "/odom:nav_msgs/msg/Odometry",
    "/joint_states:sensor_msgs/msg/JointState",
    "/imu/data:sensor_msgs/msg/Imu",
)
SENSOR_TYPES = {"sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo", "sensor_msgs/msg/PointCloud2"}


def message_class(type_name: str):
    parts = type_name.split("/")
    if len(parts) != 3 or parts[1] != "msg":
        raise BagError(f"topics: type {type_name!r} is not of the form package/msg/Type")
    try:
        return getattr(importlib.import_module(f"{parts[0]}.msg"), parts[2])
    except (ImportError, AttributeError) as exc:
        raise BagError(f"topics: message type {type_name!r} is not installed") from exc


def parse_topics(entries: list[str]) -> list[tuple[str, str]]:
    out = []
    for entry in entries:
        name, sep, type_name = entry.partition(":")
        if not sep or not name or not type_name:
            raise BagError(f"topics: {entry!r} is not 'topic:package/msg/Type'")
        out.append((name if name.startswith("/") else "/" + name, type_name))
    return out


class RecorderNode(Node):
    def __init__(self):
        super().__init__("demo_recorder")
        self.declare_parameter("output", "")
        self.declare_parameter("topics", list(DEMO_TOPICS))
        self.declare_parameter("flush_period_s", 1.0)
        output = self.get_parameter("output").value or time.strftime("demos/teleop_%Y%m%d_%H%M%S", time.gmtime())
        topics = parse_topics(list(self.get_parameter("topics").value))
        self.bag = BagWriter(output, flush_period_s=float(self.get_parameter("flush_period_s").value))
        for name, type_name in topics:
            cls = message_class(type_name)
            self.bag.add_topic(name, type_name)
            qos = (QoSProfile(depth=10, reliability=qos_profile_sensor_data.reliability)
                   if type_name in SENSOR_TYPES else QoSProfile(depth=100))
            self.create_subscription(cls, name, self._writer(name, type_name), qos, raw=True)
        self.create_timer(float(self.get_parameter("flush_period_s").value), self._flush)
        self.get_logger().info(f"recording {len(topics)} topics to {output}")

    def _writer(self, name: str, type_name: str):
        def write(data: bytes) -> None:
            self.bag.write(name, type_name, data, self.get_clock().now().nanoseconds)
        return write

    def _flush(self) -> None:
        self.bag.flush()  # also on quiet topics: the metadata stays current

    def destroy_node(self):
        self.bag.close()
        self.get_logger().info(f"closed {self.bag.path}: {self.bag.message_count} messages")
        return super().destroy_node()


def main(args=None) -> int:
    return spin_node(RecorderNode, "recorder_node", args)


if __name__ == "__main__":
    sys.exit(main())
