"""ROS 2 sim node: the A1 on a trail with its onboard camera, driven by the locomotion controller.

Everything the controller node publishes (joint_states, imu/data, odom, ground_truth/odom,
controller/status; cmd_vel and gait in), plus the camera at its configured rate:

    camera/image_raw    sensor_msgs/Image rgb8
    camera/depth        sensor_msgs/Image 32FC1, metres along the optical axis (inf: nothing hit)
    camera/labels       sensor_msgs/Image mono8, ground-truth class ids (simulator only)
    camera/camera_info  sensor_msgs/CameraInfo (plumb_bob, no distortion)
    trail/terrain       std_msgs/String, the terrain under the robot (simulator only)
    trail/status        std_msgs/String, JSON: distance_m, completed, fell, end_reason (simulator only)
    operator/cmd_vel    geometry_msgs/Twist, the simulated operator's steering (lane keeping from
                        ground truth, as the seed's human steered), when operator_steering is true

The trail's clock starts at the first forward command (at least START_COMMAND_MPS) once the robot
stands: in a node graph the perception nodes may still be loading when the robot is up, and that
wait (reported as ``waited_for_first_command_s``) is start-up time, not walking time. Until then the
trail status says ``waiting_for_command``. When the robot passes the trail's end or falls, the trail
status says so, and with ``report_json`` set the node writes the same report as `semloco trail`
there (commanded speed = cmd_vel's).

Frames keep the camera's frame id (config/camera.yaml). Run here without `ros2 run`:
    python -m sim.sim_node --ros-args -p trail:=demo
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from geometry_msgs.msg import Twist
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from locomotion.controller_node import ControllerNode
from locomotion.kinematics import quaternion_to_rotation, rotation_to_rpy
from robot_perception.ros_images import image_message
from sim.camera import Camera, CameraFrame, load_camera_config
from sim.terrain import load_terrain_catalogue
from sim.trail import load_trail
from sim.trail_report import TrailSample, summarize, write_samples
from sim.trail_run import trail_outcome
from sim.trail_walk import SPAWN_X_M, lane_keeping_yaw_rate
from sim.trail_world import TrailGround
from semantic_locomotion.ros_main import spin_node

START_COMMAND_MPS = 0.05  # the trail's clock starts at the first forward command at least this fast


def camera_info_message(frame: CameraFrame, stamp, frame_id: str) -> CameraInfo:
    msg = CameraInfo()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(frame.labels.shape[0]), int(frame.labels.shape[1])
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    k = frame.intrinsics
    msg.k = [float(x) for x in k.ravel()]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [float(k[0, 0]), 0.0, float(k[0, 2]), 0.0, 0.0, float(k[1, 1]), float(k[1, 2]), 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


class SimNode(ControllerNode):
    def __init__(self):
        self.ground = None
        super().__init__("sim")
        self.declare_parameter("camera_config", "")
        self.declare_parameter("camera_rate_hz", 0.0)  # 0: the camera config's rate
        self.declare_parameter("operator_steering", False)
        self.declare_parameter("report_json", "")
        path = self.get_parameter("camera_config").value or None
        self.camera_config = load_camera_config(path)
        rate = float(self.get_parameter("camera_rate_hz").value)
        if rate > 0:
            self.camera_config = dataclasses.replace(self.camera_config, rate_hz=rate)
        self.operator_steering = bool(self.get_parameter("operator_steering").value)
        self.report_json = self.get_parameter("report_json").value
        catalogue = load_terrain_catalogue()
        labels = self.ground.body_labels if self.ground is not None else {}
        self.camera = Camera(self.world.client, self.camera_config, labels, catalogue.label_id("sky"),
                             lighting_seed=int(self.get_parameter("seed").value))
        self.next_frame_time = self.world.time_s
        self.image_pub = self.create_publisher(Image, "camera/image_raw", 5)
        self.depth_pub = self.create_publisher(Image, "camera/depth", 5)
        self.labels_pub = self.create_publisher(Image, "camera/labels", 5)
        self.info_pub = self.create_publisher(CameraInfo, "camera/camera_info", 5)
        self.terrain_pub = self.create_publisher(String, "trail/terrain", 5)
        self.trail_status_pub = self.create_publisher(String, "trail/status", 5)
        self.operator_pub = self.create_publisher(Twist, "operator/cmd_vel", 10)
        self.samples: list[TrailSample] = []
        self.next_sample_time = None
        self.walk_start = None
        self.standing_since = None  # sim time the robot was up and waiting for its first command
        self.waited_for_first_command_s = None
        self.end_reason = None
        self.report_written = False
        self.last_forward_cmd = 0.0
        self.wall_start_trail = time.monotonic()

    def make_world(self, gui: bool, seed: int):
        from sim.world import SimWorld, load_sim_config

        self.declare_parameter("trail", "demo")
        trail_name = self.get_parameter("trail").value
        self.seed = seed
        if trail_name:
            self.trail = load_trail(trail_name)
            self.ground = TrailGround(self.trail, seed=self.trail.seed + 1000 * seed)
            return SimWorld(self.robot, load_sim_config(gui=gui), seed=seed, ground=self.ground,
                            spawn_xy=(SPAWN_X_M, 0.0))
        return super().make_world(gui, seed)

    def on_cmd_vel(self, msg: Twist) -> None:
        self.last_forward_cmd = float(msg.linear.x)
        super().on_cmd_vel(msg)

    def after_steps(self, stamp) -> None:
        if self.ground is not None:
            self.follow_trail()
        if self.world.time_s + 1e-9 < self.next_frame_time:
            return
        self.next_frame_time += 1.0 / self.camera_config.rate_hz
        truth = self.world.ground_truth()
        frame = self.camera.render(truth.position, truth.orientation_xyzw, self.world.time_s)
        fid = self.camera_config.frame_id
        self.image_pub.publish(image_message(frame.rgb, "rgb8", stamp, fid))
        self.depth_pub.publish(image_message(frame.depth_m.astype(np.float32), "32FC1", stamp, fid))
        self.labels_pub.publish(image_message(frame.labels, "mono8", stamp, fid))
        self.info_pub.publish(camera_info_message(frame, stamp, fid))
        if self.ground is not None:
            self.terrain_pub.publish(String(data=self.ground.terrain_at(float(truth.position[0]))))

    def follow_trail(self) -> None:
        """Operator steering, progress samples, and the end of the trail (reached or fallen)."""
        truth = self.world.ground_truth()
        x = float(truth.position[0])
        rpy = rotation_to_rpy(quaternion_to_rotation(truth.orientation_xyzw))
        forward = self.last_forward_cmd
        if self.operator_steering:
            steer = Twist()
            steer.angular.z = lane_keeping_yaw_rate(float(truth.position[1]), float(rpy[2]), forward)
            self.operator_pub.publish(steer)
        if not self.walking or self.end_reason is not None:
            return
        if self.walk_start is None:
            if self.standing_since is None:
                self.standing_since = self.world.time_s
            if forward < START_COMMAND_MPS:
                self.publish_trail_status(x, walking_time_s=0.0, waiting_for_command=True)
                return
            self.walk_start, self.next_sample_time = self.world.time_s, self.world.time_s
            self.waited_for_first_command_s = self.world.time_s - self.standing_since
            self.energy_start = self.world.mechanical_energy_j
        t = self.world.time_s - self.walk_start
        if self.world.time_s >= self.next_sample_time:
            self.next_sample_time += 0.1
            self.samples.append(TrailSample(t, x, float(truth.position[1]), self.trail.terrain_at(x), forward,
                                            float(truth.linear_velocity[0]), self.controller.gait.swing_height,
                                            self.controller.gait.frequency))
        self.end_reason = trail_outcome(truth, self.ground, self.trail, self.controller)
        self.publish_trail_status(x, walking_time_s=t, waiting_for_command=False)
        if self.end_reason is not None:
            self.get_logger().info(f"trail {self.trail.name}: {self.end_reason} at {x:.1f} m after {t:.1f} s")
            self.write_report()

    def publish_trail_status(self, x: float, walking_time_s: float, waiting_for_command: bool) -> None:
        status = {"distance_m": round(x, 3), "walking_time_s": round(walking_time_s, 2),
                  "terrain": self.trail.terrain_at(x), "completed": self.end_reason == "completed",
                  "fell": self.end_reason == "fell", "end_reason": self.end_reason,
                  "waiting_for_command": waiting_for_command}
        self.trail_status_pub.publish(String(data=json.dumps(status)))

    def write_report(self) -> None:
        """The trail report (as `semloco trail` writes it) at ``report_json``, if asked for."""
        if not self.report_json or len(self.samples) < 2 or self.report_written:
            return
        report = summarize(self.samples, trail=self.trail, policy="ros_graph", seed=self.seed,
                           completed=self.end_reason == "completed", fell=self.end_reason == "fell",
                           end_reason=self.end_reason or "stopped", energy_j=self.world.mechanical_energy_j -
                           self.energy_start, weight_n=self.robot.mass_kg * 9.81, sim_time_s=self.world.time_s,
                           wall_time_s=time.monotonic() - self.wall_start_trail,
                           extra={"waited_for_first_command_s": self.waited_for_first_command_s})
        Path(self.report_json).write_text(json.dumps(report, indent=2) + "\n")
        write_samples(self.samples, Path(self.report_json).with_suffix(".samples.json"))
        self.report_written = True

    def destroy_node(self):
        self.write_report()  # a run stopped before the end still leaves its report
        if self.ground is not None:
            self.ground.close()
        return super().destroy_node()


def main(args=None) -> int:
    return spin_node(SimNode, "sim_node", args)


if __name__ == "__main__":
    sys.exit(main())
