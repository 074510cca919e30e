"""Segmentation and depth nodes over real rclpy/DDS: publish a camera image, receive labels and depth."""

import numpy as np

from tests.ros_helpers import spin_until, start_node, stop_node


def camera_frame():
    """A real onboard frame: the robot's camera 1 m into an asphalt trail."""
    from sim.montage import render_class_view

    return render_class_view("asphalt", seed=3)


def test_nodes_turn_an_image_into_labels_depth_and_points(ros_context, tmp_path):
    env, context = ros_context
    from builtin_interfaces.msg import Time
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from std_msgs.msg import Float32, Float32MultiArray, String

    from robot_perception.ros_images import image_message, image_to_array

    seg = start_node("robot_perception.segmentation_node", [], env, tmp_path / "seg.log")
    dep = start_node("robot_perception.depth_node", [], env, tmp_path / "depth.log")
    node = Node("fake_camera", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    got = {"labels": [], "embedding": [], "terrain": [], "depth": [], "points": [], "obstacle": []}
    node.create_subscription(Image, "perception/labels", got["labels"].append, 5)
    node.create_subscription(Float32MultiArray, "perception/embedding", got["embedding"].append, 5)
    node.create_subscription(String, "perception/terrain_ahead", got["terrain"].append, 5)
    node.create_subscription(Image, "perception/depth", got["depth"].append, 5)
    node.create_subscription(PointCloud2, "perception/points", got["points"].append, 5)
    node.create_subscription(Float32, "perception/obstacle_distance", got["obstacle"].append, 5)
    image_pub = node.create_publisher(Image, "camera/image_raw", 5)
    info_pub = node.create_publisher(CameraInfo, "camera/camera_info", 5)
    frame = camera_frame()
    stamp = Time(sec=42, nanosec=7)
    image = image_message(frame.rgb, "rgb8", stamp, "camera_optical_frame")
    info = CameraInfo(width=160, height=120, k=[float(x) for x in frame.intrinsics.ravel()])
    info.header.frame_id = "camera_optical_frame"

    def publish():
        info_pub.publish(info)
        image_pub.publish(image)

    try:
        ok = spin_until(executor, lambda: all(got.values()), 60.0, tick=publish)
    finally:
        codes = stop_node(seg), stop_node(dep)
        node.destroy_node()
    logs = (tmp_path / "seg.log").read_text() + (tmp_path / "depth.log").read_text()
    assert ok, {k: len(v) for k, v in got.items()} | {"logs": logs}
    labels, depth = got["labels"][-1], got["depth"][-1]
    assert labels.encoding == "mono8" and depth.encoding == "32FC1"
    assert labels.header.frame_id == depth.header.frame_id == "camera_optical_frame"
    assert labels.header.stamp == stamp and depth.header.stamp == stamp
    label_ids = image_to_array(labels)
    depth_m = image_to_array(depth)
    assert np.mean(label_ids[-30:] == 0) > 0.9  # asphalt in front of the robot
    assert got["terrain"][-1].data == "asphalt"
    assert len(got["embedding"][-1].data) == 64 + 12  # pooled features + class composition
    truth = frame.depth_m[-30:, 40:120]
    assert np.median(np.abs(depth_m[-30:, 40:120] - truth) / truth) < 0.1
    assert got["points"][-1].width > 1000
    assert codes == (0, 0), logs


def test_depth_node_without_camera_info_publishes_nan_and_says_why(ros_context, tmp_path):
    """No camera/camera_info: no points and no corridor check, so the obstacle reading is NaN
    (unknown, which the speed policy never takes for clear) with status no_camera_info; once the
    intrinsics arrive, the same image gives a real reading."""
    env, context = ros_context
    import math

    from builtin_interfaces.msg import Time
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Float32, String

    from robot_perception.ros_images import image_message

    dep = start_node("robot_perception.depth_node", [], env, tmp_path / "depth.log")
    node = Node("fake_camera_without_info", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    got = {"obstacle": [], "status": []}
    node.create_subscription(Float32, "perception/obstacle_distance", lambda m: got["obstacle"].append(m.data), 5)
    node.create_subscription(String, "perception/obstacle_status", lambda m: got["status"].append(m.data), 5)
    image_pub = node.create_publisher(Image, "camera/image_raw", 5)
    info_pub = node.create_publisher(CameraInfo, "camera/camera_info", 5)
    frame = camera_frame()
    image = image_message(frame.rgb, "rgb8", Time(sec=1), "camera_optical_frame")
    info = CameraInfo(width=160, height=120, k=[float(x) for x in frame.intrinsics.ravel()])
    try:
        ok = spin_until(executor, lambda: len(got["obstacle"]) >= 3 and len(got["status"]) >= 3, 60.0,
                        tick=lambda: image_pub.publish(image))
        without = dict(obstacle=list(got["obstacle"]), status=list(got["status"]))
        got["obstacle"].clear()
        got["status"].clear()

        def with_info():
            info_pub.publish(info)
            image_pub.publish(image)

        ok_info = spin_until(executor, lambda: "clear" in got["status"] and math.inf in got["obstacle"], 60.0,
                             tick=with_info)
    finally:
        code = stop_node(dep)
        node.destroy_node()
    log = (tmp_path / "depth.log").read_text()
    assert ok, without | {"log": log}
    assert all(math.isnan(d) for d in without["obstacle"])
    assert set(without["status"]) == {"no_camera_info"}
    assert ok_info, got | {"log": log}  # the asphalt frame: flat ground, nothing on it: inf, "clear"
    assert code == 0, log


def test_depth_node_takes_gravity_from_a_fresh_imu_attitude_only(ros_context):
    """The depth node's slope limit in the gravity frame needs the trunk's attitude: none before an
    imu/data message, the camera's up direction from a fresh one, none again once it is older
    than imu_timeout_s, and a NaN attitude is ignored."""
    import math

    import rclpy
    from geometry_msgs.msg import Quaternion
    from sensor_msgs.msg import Imu

    from robot_perception.depth_node import DepthNode
    from robot_perception.pointcloud import camera_up_vector

    rclpy.init()  # the node runs in the default context, in this test's domain (set by ros_context)
    node = DepthNode()
    try:
        assert node.camera_up() is None
        tilted = (0.0, math.sin(-0.05), 0.0, math.cos(-0.05))  # nose up by 0.1 rad
        node.on_imu(Imu(orientation=Quaternion(x=tilted[0], y=tilted[1], z=tilted[2], w=tilted[3])))
        np.testing.assert_allclose(node.camera_up(), camera_up_vector(tilted, math.radians(20.0)))
        received, attitude = node.attitude
        node.attitude = (received - node.imu_timeout_s - 0.1, attitude)
        assert node.camera_up() is None
        node.on_imu(Imu(orientation=Quaternion(x=math.nan, y=0.0, z=0.0, w=1.0)))
        assert node.camera_up() is None
    finally:
        node.destroy_node()
        rclpy.shutdown()
