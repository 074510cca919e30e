"""ROS 2 segmentation node: camera image in; terrain labels and the semantic embedding out.

    subscribes  camera/image_raw (sensor_msgs/Image rgb8 or bgr8; sensor-data QoS, depth 2)
    publishes   perception/labels (sensor_msgs/Image mono8, class ids, the camera's header)
                perception/embedding (std_msgs/Float32MultiArray, the EMBED_DIM-vector of
                robot_perception.model.embedding_vector, header-less: it follows the labels)
                perception/terrain_ahead (std_msgs/String, the most frequent walkable class in the
                lower third of the image)

Run here without `ros2 run`: python -m robot_perception.segmentation_node
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Float32MultiArray, String

from robot_perception.inference import ImageError, TerrainPerception
from robot_perception.ros_images import image_message, image_to_array
from sim.terrain import WALKABLE_CLASSES
from semantic_locomotion.ros_main import spin_node


def default_checkpoint() -> str:
    """models/terrain_net.pt of the source checkout, else of the installed package share."""
    for base in (Path(__file__).resolve().parents[1], Path(sys.prefix) / "share" / "semantic_locomotion"):
        candidate = base / "models" / "terrain_net.pt"
        if candidate.is_file():
            return str(candidate)
    return "models/terrain_net.pt"


def terrain_ahead(labels: np.ndarray, class_names: tuple[str, ...]) -> str:
    lower = labels[2 * labels.shape[0] // 3:]
    counts = np.bincount(lower.ravel(), minlength=len(class_names))
    walkable = [class_names.index(c) for c in WALKABLE_CLASSES if c in class_names]
    return class_names[walkable[int(np.argmax(counts[walkable]))]]


class SegmentationNode(Node):
    def __init__(self):
        super().__init__("terrain_segmentation")
        self.declare_parameter("checkpoint", "")  # "": the shipped models/terrain_net.pt
        self.declare_parameter("backend", "onnx")
        self.declare_parameter("threads", 2)
        self.perception = TerrainPerception(self.get_parameter("checkpoint").value or default_checkpoint(),
                                            backend=self.get_parameter("backend").value,
                                            threads=int(self.get_parameter("threads").value))
        sensor_qos = QoSProfile(depth=2, reliability=qos_profile_sensor_data.reliability,
                                history=qos_profile_sensor_data.history)
        self.create_subscription(Image, "camera/image_raw", self.on_image, sensor_qos)
        self.labels_pub = self.create_publisher(Image, "perception/labels", 5)
        self.embedding_pub = self.create_publisher(Float32MultiArray, "perception/embedding", 5)
        self.terrain_pub = self.create_publisher(String, "perception/terrain_ahead", 5)

    def on_image(self, msg: Image) -> None:
        try:
            out = self.perception.process(image_to_array(msg))
        except ImageError as exc:
            self.get_logger().error(f"camera/image_raw: {exc}", throttle_duration_sec=5.0)
            return
        self.labels_pub.publish(image_message(out.labels, "mono8", msg.header.stamp, msg.header.frame_id))
        self.embedding_pub.publish(Float32MultiArray(data=[float(x) for x in out.embedding]))
        self.terrain_pub.publish(String(data=terrain_ahead(out.labels, self.perception.class_names)))


def main(args=None) -> int:
    return spin_node(SegmentationNode, "segmentation_node", args)


if __name__ == "__main__":
    sys.exit(main())
