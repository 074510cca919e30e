"""What the perception nodes share: the shipped checkpoints, their parameters, the camera QoS and
turning an incoming image into a perception result (or one throttled error)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data

from robot_perception.inference import ImageError, PerceptionOutput, TerrainPerception
from robot_perception.pointcloud import camera_up_vector
from robot_perception.ros_images import image_to_array


def shipped_model(name: str) -> str:
    """models/``name`` of the source checkout, else of the installed package share."""
    for base in (Path(__file__).resolve().parents[1], Path(sys.prefix) / "share" / "semantic_locomotion"):
        candidate = base / "models" / name
        if candidate.is_file():
            return str(candidate)
    return f"models/{name}"


def default_checkpoint() -> str:
    """The shipped perception weights, models/terrain_net.pt."""
    return shipped_model("terrain_net.pt")


def camera_qos() -> QoSProfile:
    """Sensor-data QoS (best effort, keep last) with a queue of 2: never work on stale frames."""
    return QoSProfile(depth=2, reliability=qos_profile_sensor_data.reliability,
                      history=qos_profile_sensor_data.history)


def perception_from_parameters(node: Node) -> TerrainPerception:
    """Declare checkpoint/backend/threads on ``node`` and build the perception they describe."""
    node.declare_parameter("checkpoint", "")  # "": the shipped models/terrain_net.pt
    node.declare_parameter("backend", "onnx")
    node.declare_parameter("threads", 2)
    return TerrainPerception(node.get_parameter("checkpoint").value or default_checkpoint(),
                             backend=node.get_parameter("backend").value,
                             threads=int(node.get_parameter("threads").value))


def perceive(node: Node, perception: TerrainPerception, msg) -> PerceptionOutput | None:
    """Perception of an Image message, or None after logging why the image was unusable."""
    try:
        return perception.process(image_to_array(msg))
    except ImageError as exc:
        node.get_logger().error(f"camera/image_raw: {exc}", throttle_duration_sec=5.0)
        return None


class CameraGeometry:
    """What a node reasoning in the gravity frame keeps of the camera: the intrinsics of the latest
    camera/camera_info, and the trunk's attitude from imu/data (a NaN or zero quaternion is ignored;
    a reading older than ``imu_timeout_s`` no longer counts). Declares the parameters
    ``camera_mount_pitch_deg`` (the camera's downward pitch on the trunk) and ``imu_timeout_s``."""

    def __init__(self, node: Node, default_pitch_deg: float = 20.0, default_timeout_s: float = 0.5):
        from sensor_msgs.msg import CameraInfo, Imu

        node.declare_parameter("camera_mount_pitch_deg", default_pitch_deg)
        node.declare_parameter("imu_timeout_s", default_timeout_s)
        self.mount_pitch_rad = math.radians(float(node.get_parameter("camera_mount_pitch_deg").value))
        self.imu_timeout_s = float(node.get_parameter("imu_timeout_s").value)
        self.intrinsics: np.ndarray | None = None
        self.attitude: tuple[float, tuple[float, float, float, float]] | None = None  # (received, xyzw)
        node.create_subscription(Imu, "imu/data", self.on_imu, 10)
        node.create_subscription(CameraInfo, "camera/camera_info", self.on_info, camera_qos())

    def on_info(self, msg) -> None:
        self.intrinsics = np.array(msg.k, dtype=float).reshape(3, 3)

    def on_imu(self, msg) -> None:
        q = msg.orientation
        xyzw = (q.x, q.y, q.z, q.w)
        if all(math.isfinite(v) for v in xyzw) and sum(v * v for v in xyzw) > 0.5:
            self.attitude = (time.monotonic(), xyzw)

    def camera_up(self) -> np.ndarray | None:
        """The world's up direction in the camera frame from a fresh IMU attitude, else None."""
        if self.attitude is None or time.monotonic() - self.attitude[0] > self.imu_timeout_s:
            return None
        return camera_up_vector(self.attitude[1], self.mount_pitch_rad)
