"""Segmentation and depth nodes over real rclpy/DDS: publish a camera image, receive labels and depth."""

import numpy as np
import pytest

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
        camera = node.camera
        assert camera.camera_up() is None
        tilted = (0.0, math.sin(-0.05), 0.0, math.cos(-0.05))  # nose up by 0.1 rad
        camera.on_imu(Imu(orientation=Quaternion(x=tilted[0], y=tilted[1], z=tilted[2], w=tilted[3])))
        np.testing.assert_allclose(camera.camera_up(), camera_up_vector(tilted, math.radians(20.0)))
        received, attitude = camera.attitude
        camera.attitude = (received - camera.imu_timeout_s - 0.1, attitude)
        assert camera.camera_up() is None
        camera.on_imu(Imu(orientation=Quaternion(x=math.nan, y=0.0, z=0.0, w=1.0)))
        assert camera.camera_up() is None
    finally:
        node.destroy_node()
        rclpy.shutdown()


def test_ground_pose_node_pairs_depth_and_labels_and_needs_an_attitude(ros_context, tmp_path):
    """The ground pose node on a rendered frame's depth and labels (one stamp): without imu/data it
    publishes NaN fields and says no_attitude; with it, the pose, fields and depth summary of the
    in-process estimator on the same arrays, and a PoseStamped of the ground frame under the camera
    (flat asphalt: its normal is the camera's up, its origin the camera height below)."""
    env, context = ros_context
    import math

    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import PoseStamped, Quaternion
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from scipy.spatial.transform import Rotation
    from sensor_msgs.msg import CameraInfo, Image, Imu
    from std_msgs.msg import Float32MultiArray, String

    from locomotion.speed_policy import pose_input
    from robot_perception.ground_pose import GroundPoseEstimator
    from robot_perception.ground_pose_node import POSE_FIELDS_LABEL
    from robot_perception.node_setup import shipped_model
    from robot_perception.pointcloud import camera_up_vector
    from robot_perception.ros_images import image_message
    from sim.camera import load_camera_config
    from sim.terrain import WALKABLE_CLASSES, load_terrain_catalogue

    pose_node = start_node("robot_perception.ground_pose_node", [], env, tmp_path / "pose.log")
    node = Node("fake_perception", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    got = {"fields": [], "summary": [], "status": [], "pose": []}
    node.create_subscription(Float32MultiArray, "perception/ground_pose_fields", got["fields"].append, 5)
    node.create_subscription(Float32MultiArray, "perception/depth_summary", got["summary"].append, 5)
    node.create_subscription(String, "perception/ground_pose_status", lambda m: got["status"].append(m.data), 5)
    node.create_subscription(PoseStamped, "perception/ground_pose", got["pose"].append, 5)
    depth_pub = node.create_publisher(Image, "perception/depth", 5)
    labels_pub = node.create_publisher(Image, "perception/labels", 5)
    info_pub = node.create_publisher(CameraInfo, "camera/camera_info", 5)
    imu_pub = node.create_publisher(Imu, "imu/data", 10)
    frame = camera_frame()
    stamp = Time(sec=7, nanosec=5)
    depth = image_message(frame.depth_m.astype(np.float32), "32FC1", stamp, "camera_optical_frame")
    labels = image_message(frame.labels, "mono8", stamp, "camera_optical_frame")
    info = CameraInfo(width=160, height=120, k=[float(x) for x in frame.intrinsics.ravel()])

    def publish(with_imu: bool):
        info_pub.publish(info)
        if with_imu:
            imu_pub.publish(Imu(orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=1.0)))
        labels_pub.publish(labels)
        depth_pub.publish(depth)

    try:
        ok = spin_until(executor, lambda: len(got["status"]) >= 2, 60.0, tick=lambda: publish(False))
        without = dict(fields=[list(m.data) for m in got["fields"]], status=list(got["status"]))
        for values in got.values():
            values.clear()
        ok_imu = spin_until(executor, lambda: "ok" in got["status"] and got["pose"] and got["summary"], 60.0,
                            tick=lambda: publish(True))
    finally:
        code = stop_node(pose_node)
        node.destroy_node()
    log = (tmp_path / "pose.log").read_text()
    assert ok, without | {"log": log}
    assert set(without["status"]) == {"no_attitude"} and all(np.isnan(f).all() for f in without["fields"])
    assert ok_imu, {k: len(v) for k, v in got.items()} | {"log": log}
    assert got["fields"][-1].layout.dim[0].label == POSE_FIELDS_LABEL
    catalogue = load_terrain_catalogue()
    up = camera_up_vector((0.0, 0.0, 0.0, 1.0), math.radians(load_camera_config().mount_pitch_deg))
    walkable = np.isin(frame.labels, [catalogue.class_names.index(c) for c in WALKABLE_CLASSES])
    expected = GroundPoseEstimator(shipped_model("ground_pose.pt")).frame_geometry(
        frame.depth_m.astype(np.float32), walkable, frame.intrinsics, up)
    fields = np.array(got["fields"][-1].data)
    assert np.allclose(fields, expected.pose_fields(), atol=1e-5, equal_nan=True)
    assert np.allclose(got["summary"][-1].data, expected.summary_vector(), atol=1e-6)
    assert abs(fields[0]) < 1.5 and pose_input(fields)[4] == 1.0  # flat asphalt, far ground in view
    pose = got["pose"][-1]
    assert pose.header.stamp == stamp and pose.header.frame_id == "camera_optical_frame"
    q = pose.pose.orientation
    normal = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()[:, 2]
    assert math.degrees(math.acos(min(1.0, float(normal @ up)))) < 2.0
    origin = np.array([pose.pose.position.x, pose.pose.position.y, pose.pose.position.z])
    assert origin @ up == pytest.approx(-fields[3], abs=1e-5)
    assert code == 0, log
