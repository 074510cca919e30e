"""ROS 2 MELON node: keyframes from an image topic in; inferred camera poses and a status out.

    subscribes  camera/image_raw (sensor_msgs/Image rgb8, bgr8 or mono8; sensor-data QoS)
    publishes   melon/poses (geometry_msgs/PoseArray, transient local): one pose per keyframe, in
                keyframe order, in the frame ``frame_id`` (default "melon_object": origin at the
                object's centre, z up, x along longitude 0 of the inferred poses; the images cannot
                fix that azimuth). Each pose is the camera's REP-103 body frame: on the sphere of
                ``radius``, x forward towards the centre, y left, z the image's up.
                melon/status (std_msgs/String, JSON, transient local, also every ``status_period_s``):
                {"state": "collecting" | "training" | "done" | "failed", "keyframes", "needed",
                 "step", "total_steps", "psnr_batch", "work_dir", "error"}

Every ``every_n``-th frame at least ``min_interval_s`` after the last keyframe becomes a keyframe: its
centre square, resized to ``size`` x ``size``. With ``keyframes`` of them the node writes them to a
new folder melon_*/keyframes under ``work_dir`` (default: the temp dir) and runs MELON
(robot_perception.melon.train.MelonRun) in a background thread; the executor keeps serving images
(ignored from then on) and the status timer meanwhile.

Run here without `ros2 run`: python -m robot_perception.melon.melon_node --ros-args -p keyframes:=40
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from geometry_msgs.msg import Pose, PoseArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import Image
from std_msgs.msg import String

from robot_perception.inference import ImageError
from robot_perception.melon.data import write_png
from robot_perception.melon.poses import rep103_camera_pose
from robot_perception.melon.train import MelonConfig, MelonRun
from robot_perception.node_setup import camera_qos
from robot_perception.ros_images import image_to_array
from semantic_locomotion.ros_main import spin_node


def keyframe_image(array: np.ndarray, size: int) -> np.ndarray:
    """The centre square of an RGB (or mono) uint8 image, resized to (size, size, 3) float32 in [0, 1]."""
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    h, w = array.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = np.ascontiguousarray(array[top:top + side, left:left + side])
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def pose_array(lat_deg: list[float], lon_deg: list[float], radius: float, frame_id: str, stamp) -> PoseArray:
    msg = PoseArray()
    msg.header.frame_id = frame_id
    msg.header.stamp = stamp
    for lat, lon in zip(lat_deg, lon_deg):
        position, quaternion = rep103_camera_pose(math.radians(lat), math.radians(lon), radius)
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = (float(v) for v in position)
        pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (float(v) for v in quaternion)
        msg.poses.append(pose)
    return msg


class MelonNode(Node):
    def __init__(self):
        super().__init__("melon_pose_inference")
        params = {"keyframes": 40, "every_n": 5, "min_interval_s": 0.0, "size": 64, "radius": 3.0, "fov_deg": 40.0,
                  "modulo": 2, "steps": 1500, "refine_steps": 6000, "threads": 1, "seed": 0, "work_dir": "",
                  "frame_id": "melon_object", "status_period_s": 1.0}
        for name, default in params.items():
            self.declare_parameter(name, default)
        self.p = {name: self.get_parameter(name).value for name in params}
        if self.p["keyframes"] < 2 or self.p["every_n"] < 1 or self.p["size"] < 8:
            raise ValueError("melon_node: keyframes must be >= 2, every_n >= 1 and size >= 8")
        if self.p["work_dir"]:
            Path(self.p["work_dir"]).mkdir(parents=True, exist_ok=True)
        self.work_dir = Path(tempfile.mkdtemp(prefix="melon_", dir=self.p["work_dir"] or None))  # a fresh run
        self.config = MelonConfig(self.work_dir / "keyframes", self.work_dir / "run", radius=self.p["radius"],
                                  fov_deg=self.p["fov_deg"], modulo=self.p["modulo"], steps=self.p["steps"],
                                  refine_steps=self.p["refine_steps"], threads=self.p["threads"],
                                  seed=self.p["seed"])  # checks radius, fov, modulo, steps
        self.keyframes: list[np.ndarray] = []
        self.frames_seen = 0
        self.last_keyframe_s = -math.inf
        self.lock = threading.Lock()
        self.status = {"state": "collecting", "keyframes": 0, "needed": self.p["keyframes"], "step": 0,
                       "total_steps": self.p["steps"] + self.p["refine_steps"], "psnr_batch": None,
                       "work_dir": str(self.work_dir), "error": None}
        self.result: tuple[list[float], list[float]] | None = None
        self.published_result = False
        self.worker: threading.Thread | None = None
        self.stopping = threading.Event()
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.poses_pub = self.create_publisher(PoseArray, "melon/poses", latched)
        self.status_pub = self.create_publisher(String, "melon/status", latched)
        self.create_subscription(Image, "camera/image_raw", self.on_image, camera_qos())
        self.create_timer(self.p["status_period_s"], self.publish_status)
        self.publish_status()

    def on_image(self, msg: Image) -> None:
        if self.worker is not None:
            return
        self.frames_seen += 1
        now = time.monotonic()
        if (self.frames_seen - 1) % self.p["every_n"] or now - self.last_keyframe_s < self.p["min_interval_s"]:
            return
        try:
            self.keyframes.append(keyframe_image(image_to_array(msg), self.p["size"]))
        except ImageError as exc:
            self.get_logger().error(f"camera/image_raw: {exc}", throttle_duration_sec=5.0)
            return
        self.last_keyframe_s = now
        with self.lock:
            self.status["keyframes"] = len(self.keyframes)
        if len(self.keyframes) >= self.p["keyframes"]:
            self.start_training()
        self.publish_status()

    def start_training(self) -> None:
        folder = self.config.images
        folder.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(self.keyframes):
            write_png(folder / f"keyframe_{i:03d}.png", image, noisy=False)
        with self.lock:
            self.status["state"] = "training"
        self.get_logger().info(f"{len(self.keyframes)} keyframes in {folder}; running MELON in the background")
        self.worker = threading.Thread(target=self.train, name="melon", daemon=True)
        self.worker.start()

    def train(self) -> None:
        """The background thread: the whole MELON run, reporting progress into the status."""
        def on_record(record: dict) -> None:
            with self.lock:
                self.status["step"] = record["step"]
                self.status["psnr_batch"] = round(record["psnr_batch"], 2)

        try:
            run = MelonRun(self.config)
            finished = run.run(progress=False, on_record=on_record, stop=self.stopping.is_set)
            poses = run.write_outputs()
            names = sorted(poses)
            with self.lock:
                self.result = ([poses[n]["latitude_deg"] for n in names], [poses[n]["longitude_deg"] for n in names])
                self.status["step"] = run.step
                self.status["state"] = "done" if finished else "failed"
                if not finished:
                    self.status["error"] = "stopped before the last step"
        except Exception as exc:  # any failure of the run is reported in the status, not lost in the thread
            with self.lock:
                self.status["state"] = "failed"
                self.status["error"] = f"{type(exc).__name__}: {exc}"

    def publish_status(self) -> None:
        """Runs in the executor: the status, and the poses once the background run has them."""
        with self.lock:
            status = dict(self.status)
            result = self.result
        if result is not None and not self.published_result:
            self.poses_pub.publish(pose_array(*result, self.p["radius"], self.p["frame_id"],
                                              self.get_clock().now().to_msg()))
            self.published_result = True
            self.get_logger().info(f"published {len(result[0])} camera poses on melon/poses")
        self.status_pub.publish(String(data=json.dumps(status)))

    def destroy_node(self):
        self.stopping.set()
        if self.worker is not None:
            self.worker.join(timeout=30.0)
        return super().destroy_node()


def main(args=None) -> int:
    return spin_node(MelonNode, "melon_node", args)


if __name__ == "__main__":
    sys.exit(main())
