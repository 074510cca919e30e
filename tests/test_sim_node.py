"""The sim node over real rclpy/DDS: camera images, depth, labels and camera info on a trail."""

import numpy as np

from tests.ros_helpers import spin_until, start_node, stop_node


def test_sim_node_publishes_camera_streams(ros_context, tmp_path):
    env, context = ros_context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    proc = start_node("sim.sim_node", ["-p", "trail:=demo"], env, tmp_path / "node.log")
    node = Node("camera_listener", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    got = {"rgb": [], "depth": [], "labels": [], "info": [], "terrain": []}
    node.create_subscription(Image, "camera/image_raw", got["rgb"].append, qos_profile_sensor_data)
    node.create_subscription(Image, "camera/depth", got["depth"].append, qos_profile_sensor_data)
    node.create_subscription(Image, "camera/labels", got["labels"].append, qos_profile_sensor_data)
    node.create_subscription(CameraInfo, "camera/camera_info", got["info"].append, qos_profile_sensor_data)
    node.create_subscription(String, "trail/terrain", got["terrain"].append, 10)
    try:
        ok = spin_until(executor, lambda: all(len(v) >= 3 for v in got.values()), 40.0)
    finally:
        code = stop_node(proc)
        node.destroy_node()
    log = (tmp_path / "node.log").read_text()
    assert ok, log
    rgb, depth, labels, info = got["rgb"][-1], got["depth"][-1], got["labels"][-1], got["info"][-1]
    assert (rgb.encoding, rgb.width, rgb.height, rgb.step) == ("rgb8", 160, 120, 480)
    assert depth.encoding == "32FC1" and labels.encoding == "mono8"
    assert {m.header.frame_id for m in (rgb, depth, labels, info)} == {"camera_optical_frame"}
    assert rgb.header.stamp == info.header.stamp
    depth_m = np.frombuffer(bytes(depth.data), dtype=np.float32).reshape(120, 160)
    label_ids = np.frombuffer(bytes(labels.data), dtype=np.uint8).reshape(120, 160)
    assert label_ids[-1, 80] == 0  # asphalt: the demo trail starts on it
    assert 0.1 < depth_m[-1, 80] < 1.0  # the ground just ahead (the robot may still be standing up)
    assert info.k[0] > 0 and info.width == 160 and info.distortion_model == "plumb_bob"
    assert got["terrain"][-1].data == "asphalt"
    assert code == 0, log
