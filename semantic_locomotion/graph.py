"""The trail traversal as a ROS 2 node graph, and a launcher for machines without `ros2 launch`.

    sim            the A1 on the trail + the torque loop (controller) + camera + operator steering
    segmentation   camera/image_raw -> perception/embedding (+ labels)
    depth          camera/image_raw -> perception/obstacle_distance (+ obstacle_status, depth, points)
    ground_pose    perception/depth + labels + imu/data -> perception/ground_pose (+ ground_pose_fields,
                   depth_summary)
    speed_policy   embedding (+ depth summary, ground pose: what the policy reads) + obstacle distance
                   -> speed_policy/cmd
    gait_selector  speed_policy/cmd + operator/cmd_vel -> cmd_vel + gait/params -> sim

``trail_graph`` is the one description of that graph: ``launch/trail.launch.py`` turns it into
launch_ros Nodes on a full ROS 2 install, and ``run_graph`` (``semloco graph``) starts the same
nodes here as processes (``python -m module --ros-args -r __node:=name -p k:=v``), waits for the
sim node's trail/status to say the trail ended, and stops them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    name: str
    executable: str  # console script (ros2 run semantic_locomotion <executable>)
    module: str  # python -m <module>
    parameters: dict


def trail_graph(trail: str = "demo", seed: int = 0, report_json: str = "", gui: bool = False,
                decision_rate_hz: float | None = None) -> list[NodeSpec]:
    from locomotion.speed_policy import load_speed_policy_config
    from sim.camera import load_camera_config

    rate = decision_rate_hz or load_speed_policy_config().decision_rate_hz
    pitch = load_camera_config().mount_pitch_deg
    return [
        NodeSpec("sim", "sim_node", "sim.sim_node",
                 {"trail": trail, "seed": seed, "gui": gui, "real_time_factor": 1.0, "camera_rate_hz": rate,
                  "operator_steering": True, "report_json": report_json}),
        NodeSpec("terrain_segmentation", "segmentation_node", "robot_perception.segmentation_node", {"threads": 1}),
        NodeSpec("terrain_depth", "depth_node", "robot_perception.depth_node",
                 {"threads": 1, "camera_mount_pitch_deg": pitch}),
        NodeSpec("ground_pose", "ground_pose_node", "robot_perception.ground_pose_node",
                 {"camera_mount_pitch_deg": pitch}),
        NodeSpec("speed_policy", "speed_policy_node", "locomotion.speed_policy_node", {}),
        NodeSpec("gait_selector", "gait_selector_node", "locomotion.gait_selector_node", {}),
    ]


def _param(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def node_command(spec: NodeSpec) -> list[str]:
    params = [arg for k, v in spec.parameters.items() if v != "" for arg in ("-p", f"{k}:={_param(v)}")]
    return [sys.executable, "-m", spec.module, "--ros-args", "-r", f"__node:={spec.name}", *params]


def run_graph(specs: list[NodeSpec], log_dir: Path, timeout_s: float, env: dict | None = None,
              on_status=None) -> dict:
    """Start every node, follow the sim's trail/status until the trail ends (or ``timeout_s``),
    stop every node; returns the last status (``end_reason`` None on timeout)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import String

    env = dict(env or os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for spec in specs:
        log = open(log_dir / f"{spec.name}.log", "w")
        procs.append((spec, subprocess.Popen(node_command(spec), env=env, stdout=log, stderr=subprocess.STDOUT)))
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("graph_monitor", context=context)
    status: dict = {"end_reason": None}

    def on_msg(msg: String) -> None:
        status.update(json.loads(msg.data))
        if on_status is not None:
            on_status(status)

    node.create_subscription(String, "trail/status", on_msg, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and status.get("end_reason") is None:
            executor.spin_once(timeout_sec=0.1)
            dead = [s.name for s, p in procs if p.poll() is not None]
            if dead:
                status["end_reason"] = f"node exited: {', '.join(dead)} (see {log_dir})"
                break
        time.sleep(0.5)  # let the sim node write its report
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    return status
