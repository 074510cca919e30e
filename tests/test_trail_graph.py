"""The trail traversal as separate ROS 2 nodes over real DDS (sim + torque loop, segmentation, depth,
ground pose, speed policy, gait selector), started like launch/trail.launch.py would, completes a
short sloped trail."""

import json

from locomotion.speed_policy import load_speed_policy, policy_inputs
from locomotion.speed_policy_node import GEOMETRY_TOPICS
from robot_perception.node_setup import shipped_model
from semantic_locomotion.graph import node_command, run_graph, trail_graph


def test_graph_description_matches_the_launch_file():
    specs = trail_graph("short", seed=2)
    assert [s.name for s in specs] == ["sim", "terrain_segmentation", "terrain_depth", "ground_pose",
                                       "speed_policy", "gait_selector"]
    sim = specs[0]
    assert sim.parameters["trail"] == "short" and sim.parameters["operator_steering"] is True
    cmd = node_command(sim)
    assert cmd[1:3] == ["-m", "sim.sim_node"] and "trail:=short" in cmd and "operator_steering:=true" in cmd


def test_short_sloped_trail_through_the_node_graph(ros_context, tmp_path):
    """``short_hill``: 14 m with a dip (flat into +6 deg) and a crest (+6 into -5 deg); the shipped speed
    policy reads the ground pose node's pose."""
    env, _ = ros_context
    report_path = tmp_path / "report.json"
    statuses = []
    status = run_graph(trail_graph("short_hill", seed=0, report_json=str(report_path)), tmp_path / "logs",
                       timeout_s=240.0, env=env, on_status=lambda s: statuses.append(dict(s)))
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted((tmp_path / "logs").glob("*.log")))
    assert status.get("completed") is True, f"{status}\n{logs}"
    report = json.loads(report_path.read_text())
    assert report["completed"] and report["falls"] == 0 and report["distance_m"] > 13.0
    # the trail's clock starts at the first forward command: how long the standing robot waited for
    # the perception nodes to load is reported apart, so it does not dilute the first stretch's speed
    assert report["waited_for_first_command_s"] >= 0.0
    assert report["per_terrain"]["asphalt"]["duration_s"] < 6.0
    per_terrain = report["per_terrain"]
    # the speed chosen by the policy node from the camera, through the gait selector node, reached the robot
    assert per_terrain["asphalt"]["mean_command_mps"] > per_terrain["deep_grass"]["mean_command_mps"] + 0.4
    assert {s["terrain"] for s in statuses} >= {"asphalt", "deep_grass", "gravel"}
    # the shipped policy reads the ground pose (and its node subscribed to the pose node's topic)
    policy_log = (tmp_path / "logs" / "speed_policy.log").read_text()
    inputs = policy_inputs(load_speed_policy(shipped_model("speed_policy.pt"))[1])
    assert "pose" in inputs
    topics = "".join(f"{GEOMETRY_TOPICS[g]}, " for g in GEOMETRY_TOPICS if g in inputs)
    assert f"reads {', '.join(inputs)}; subscribed to perception/embedding, {topics}" in policy_log, policy_log
