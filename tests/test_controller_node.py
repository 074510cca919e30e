"""The controller node over real rclpy/DDS (loopback, isolated domain): command it, see it walk."""

import json
import time

from tests.ros_helpers import spin_until, start_node, stop_node


def test_controller_node_walks_on_cmd_vel(ros_context, tmp_path):
    env, context = ros_context
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import Imu, JointState
    from std_msgs.msg import String

    proc = start_node("locomotion.controller_node",
                      ["-p", "gait:=trot", "-p", "real_time_factor:=1.0"], env, tmp_path / "node.log")
    node = Node("test_driver", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    got = {"joints": [], "imu": [], "odom": [], "truth": [], "status": []}
    node.create_subscription(JointState, "joint_states", got["joints"].append, 10)
    node.create_subscription(Imu, "imu/data", got["imu"].append, 10)
    node.create_subscription(Odometry, "odom", got["odom"].append, 10)
    node.create_subscription(Odometry, "ground_truth/odom", got["truth"].append, 10)
    node.create_subscription(String, "controller/status", lambda m: got["status"].append(json.loads(m.data)), 10)
    cmd_pub = node.create_publisher(Twist, "cmd_vel", 10)
    cmd = Twist()
    cmd.linear.x = 0.6
    try:
        walking = lambda: got["status"] and got["status"][-1]["mode"] == "walk"
        assert spin_until(executor, walking, 40.0), (tmp_path / "node.log").read_text()
        x_start = got["truth"][-1].pose.pose.position.x
        n_status = len(got["status"])
        t_start = got["status"][-1]["sim_time_s"]
        last_sent = [-1.0]

        def command_at_20_hz():
            if time.monotonic() - last_sent[0] >= 0.05:
                cmd_pub.publish(cmd)
                last_sent[0] = time.monotonic()

        # command until 6 s of the node's own (simulated) time have passed; the node runs at real
        # time, so 30 s of wall time is ample unless it stalls or stops publishing its status
        six_seconds_on = lambda: got["status"][-1]["sim_time_s"] >= t_start + 6.0
        assert spin_until(executor, six_seconds_on, 30.0, tick=command_at_20_hz), (tmp_path / "node.log").read_text()
        x_end = got["truth"][-1].pose.pose.position.x
    finally:
        code = stop_node(proc)
        node.destroy_node()
    log = (tmp_path / "node.log").read_text()
    assert len(got["status"]) > n_status
    assert got["status"][-1]["mode"] == "walk", log
    assert x_end - x_start > 2.0, f"walked only {x_end - x_start:.2f} m\n{log}"
    joints = got["joints"][-1]
    assert list(joints.name)[:3] == ["FR_hip", "FR_thigh", "FR_calf"] and len(joints.position) == 12
    assert got["imu"][-1].header.frame_id == "base_link"
    odom = got["odom"][-1]
    assert odom.header.frame_id == "odom" and odom.child_frame_id == "base_link"
    recent = [m.twist.twist.linear.x for m in got["odom"][-50:]]  # last second at 50 Hz
    assert 0.4 < sum(recent) / len(recent) < 0.8  # estimated forward speed in base_link
    assert code == 0, log
