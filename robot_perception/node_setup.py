"""What the perception nodes share: the shipped checkpoints, their parameters, the camera QoS and
turning an incoming image into a perception result (or one throttled error)."""

from __future__ import annotations

import sys
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data

from robot_perception.inference import ImageError, PerceptionOutput, TerrainPerception
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
