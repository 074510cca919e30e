"""ROS 2 segmentation node: camera image in; terrain labels and the semantic embedding out.

    subscribes  camera/image_raw (sensor_msgs/Image rgb8 or bgr8; sensor-data QoS, depth 2)
    publishes   perception/labels (sensor_msgs/Image mono8, class ids, the camera's header)
                perception/embedding (std_msgs/Float32MultiArray, the EMBED_DIM + C vector of
                robot_perception.model.embedding_vector, header-less: it follows the labels)
                perception/terrain_ahead (std_msgs/String, the most frequent walkable class in the
                lower third of the image)

Run here without `ros2 run`: python -m robot_perception.segmentation_node
"""

from __future__ import annotations

import sys

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float32MultiArray, String

from robot_perception.node_setup import camera_qos, perceive, perception_from_parameters
from robot_perception.ros_images import image_message
from sim.terrain import WALKABLE_CLASSES
from semantic_locomotion.ros_main import spin_node


def terrain_ahead(labels: np.ndarray, class_names: tuple[str, ...]) -> str:
    lower = labels[2 * labels.shape[0] // 3:]
    counts = np.bincount(lower.ravel(), minlength=len(class_names))
    walkable = [class_names.index(c) for c in WALKABLE_CLASSES if c in class_names]
    return class_names[walkable[int(np.argmax(counts[walkable]))]]


class SegmentationNode(Node):
    def __init__(self):
        super().__init__("terrain_segmentation")
        self.perception = perception_from_parameters(self)
        self.create_subscription(Image, "camera/image_raw", self.on_image, camera_qos())
        self.labels_pub = self.create_publisher(Image, "perception/labels", 5)
        self.embedding_pub = self.create_publisher(Float32MultiArray, "perception/embedding", 5)
        self.terrain_pub = self.create_publisher(String, "perception/terrain_ahead", 5)

    def on_image(self, msg: Image) -> None:
        out = perceive(self, self.perception, msg)
        if out is None:
            return
        self.labels_pub.publish(image_message(out.labels, "mono8", msg.header.stamp, msg.header.frame_id))
        self.embedding_pub.publish(Float32MultiArray(data=[float(x) for x in out.embedding]))
        self.terrain_pub.publish(String(data=terrain_ahead(out.labels, self.perception.class_names)))


def main(args=None) -> int:
    return spin_node(SegmentationNode, "segmentation_node", args)


if __name__ == "__main__":
    sys.exit(main())
