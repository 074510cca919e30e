"""ROS 2 sim node: the A1 on a trail with its onboard camera, driven by the locomotion controller.

Everything the controller node publishes (joint_states, imu/data, odom, ground_truth/odom,
controller/status; cmd_vel and gait in), plus the camera at its configured rate:

    camera/image_raw    sensor_msgs/Image rgb8
    camera/depth        sensor_msgs/Image 32FC1, metres along the optical axis (inf: nothing hit)
    camera/labels       sensor_msgs/Image mono8, ground-truth class ids (simulator only)
    camera/camera_info  sensor_msgs/CameraInfo (plumb_bob, no distortion)
    trail/terrain       std_msgs/String, the terrain under the robot (simulator only)

Frames keep the camera's frame id (config/camera.yaml). Run here without `ros2 run`:
    python -m sim.sim_node --ros-args -p trail:=demo
"""

from __future__ import annotations

import sys

import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from locomotion.controller_node import ControllerNode
from robot_perception.ros_images import image_message
from sim.camera import Camera, CameraFrame, load_camera_config
from sim.terrain import load_terrain_catalogue
from sim.trail import load_trail
from sim.trail_walk import SPAWN_X_M
from sim.trail_world import TrailGround
from semantic_locomotion.ros_main import spin_node


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
        path = self.get_parameter("camera_config").value or None
        self.camera_config = load_camera_config(path)
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

    def make_world(self, gui: bool, seed: int):
        from sim.world import SimWorld, load_sim_config

        self.declare_parameter("trail", "demo")
        trail_name = self.get_parameter("trail").value
        if trail_name:
            self.ground = TrailGround(load_trail(trail_name), seed=None)
            return SimWorld(self.robot, load_sim_config(gui=gui), seed=seed, ground=self.ground,
                            spawn_xy=(SPAWN_X_M, 0.0))
        return super().make_world(gui, seed)

    def after_steps(self, stamp) -> None:
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

    def destroy_node(self):
        if self.ground is not None:
            self.ground.close()
        return super().destroy_node()


def main(args=None) -> int:
    return spin_node(SimNode, "sim_node", args)


if __name__ == "__main__":
    sys.exit(main())
