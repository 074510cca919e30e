"""The MELON node over real rclpy/DDS: publish a few small images, receive one camera pose per
keyframe and a "done" status, with status updates while the background run trains."""

import json
import math
from pathlib import Path

import numpy as np

from tests.ros_helpers import spin_until, start_node, stop_node

KEYFRAMES = 6


def synthetic_views(count: int) -> list[np.ndarray]:
    """80x60 rgb8 frames of a coloured blob that moves with the view index (not square: the node
    crops the centre)."""
    rows, cols = np.mgrid[0:60, 0:80]
    frames = []
    for i in range(count):
        angle = 2 * math.pi * i / count
        cx, cy = 40 + 12 * math.cos(angle), 30 + 8 * math.sin(angle)
        blob = ((cols - cx) ** 2 + (rows - cy) ** 2) < 120
        image = np.full((60, 80, 3), 255, np.uint8)
        image[blob] = (40 + 15 * i, 120, 220 - 15 * i)
        frames.append(image)
    return frames


def test_node_collects_keyframes_and_publishes_poses(ros_context, tmp_path):
    env, context = ros_context
    from geometry_msgs.msg import PoseArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from sensor_msgs.msg import Image
    from std_msgs.msg import String

    from robot_perception.ros_images import image_message

    params = [f"keyframes:={KEYFRAMES}", "every_n:=2", "size:=32", "steps:=120", "refine_steps:=40",
              "status_period_s:=0.2",
              "radius:=2.5", f"work_dir:={tmp_path / 'work'}"]
    node = Node("fake_camera", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    statuses, poses = [], []
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(String, "melon/status", lambda m: statuses.append(json.loads(m.data)), 10)
    node.create_subscription(PoseArray, "melon/poses", poses.append, latched)
    image_pub = node.create_publisher(Image, "camera/image_raw", 5)
    frames = synthetic_views(2 * KEYFRAMES)
    sent = [0]
    proc = start_node("robot_perception.melon.melon_node", [x for p in params for x in ("-p", p)], env,
                      tmp_path / "melon.log")

    def publish():  # every frame at most once, one per tick, once the node listens
        if sent[0] < len(frames) and image_pub.get_subscription_count() > 0:
            image_pub.publish(image_message(frames[sent[0]], "rgb8", node.get_clock().now().to_msg(), "camera"))
            sent[0] += 1

    def finished():
        return bool(poses) and any(s["state"] in ("done", "failed") for s in statuses)

    try:
        # best-effort images may be dropped: resend the sequence until the node has enough keyframes
        def tick():
            publish()
            if sent[0] == len(frames) and not any(s["state"] != "collecting" for s in statuses):
                sent[0] = 0

        ok = spin_until(executor, finished, 60.0, tick=tick)
    finally:
        code = stop_node(proc)
        node.destroy_node()
    log = (tmp_path / "melon.log").read_text()
    assert ok, {"statuses": statuses[-3:], "poses": len(poses), "log": log}
    final = statuses[-1]
    assert final["state"] == "done", final
    assert final["keyframes"] == KEYFRAMES and final["step"] == 160
    # the executor kept serving while the background run trained: status updates with progress
    training = [s for s in statuses if s["state"] == "training"]
    assert len(training) >= 2, statuses
    assert any(s["step"] > 0 for s in training)
    msg = poses[-1]
    assert msg.header.frame_id == "melon_object"
    assert len(msg.poses) == KEYFRAMES
    for pose in msg.poses:
        p = np.array([pose.position.x, pose.position.y, pose.position.z])
        q = np.array([pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w])
        assert abs(np.linalg.norm(p) - 2.5) < 1e-6
        assert abs(np.linalg.norm(q) - 1.0) < 1e-6
        x, y, z, w = q  # body x axis (REP-103 forward) points at the centre
        forward = np.array([1 - 2 * (y * y + z * z), 2 * (x * y + z * w), 2 * (x * z - y * w)])
        np.testing.assert_allclose(forward, -p / 2.5, atol=1e-6)
    work_dir = Path(final["work_dir"])
    assert work_dir.parent == tmp_path / "work", final
    written = json.loads((work_dir / "run" / "poses.json").read_text())
    assert sorted(written) == [f"keyframe_{i:03d}.png" for i in range(KEYFRAMES)]
    assert code == 0, log


def test_keyframe_image_takes_the_centre_square():
    from robot_perception.melon.melon_node import keyframe_image

    frame = np.zeros((60, 80, 3), np.uint8)
    frame[:, 10:70] = 255  # the centre 60x60 square is white, the side strips black
    out = keyframe_image(frame, 30)
    assert out.shape == (30, 30, 3) and out.dtype == np.float32
    assert out.min() == 1.0
    mono = keyframe_image(np.full((40, 40), 128, np.uint8), 20)
    assert mono.shape == (20, 20, 3) and np.allclose(mono, 128 / 255)
