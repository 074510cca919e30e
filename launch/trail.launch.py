"""The whole trail traversal as separate ROS 2 nodes (sim + torque loop, segmentation, depth, ground
pose, speed policy, gait selector) on a full ROS 2 install:

    ros2 launch semantic_locomotion trail.launch.py trail:=demo seed:=0

The graph is described once, in semantic_locomotion.graph.trail_graph. Without `ros2 launch`
(e.g. from PyPI wheels) the same nodes start, and stop when the trail ends, with:

    semloco graph --trail demo --seed 0 --json trail_report.json
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from semantic_locomotion.graph import trail_graph


def nodes(context):
    trail = LaunchConfiguration("trail").perform(context)
    seed = int(LaunchConfiguration("seed").perform(context))
    gui = LaunchConfiguration("gui").perform(context).lower() == "true"
    return [Node(package="semantic_locomotion", executable=spec.executable, name=spec.name, output="screen",
                 parameters=[spec.parameters]) for spec in trail_graph(trail, seed, gui=gui)]


def generate_launch_description():
    args = [DeclareLaunchArgument("trail", default_value="demo"), DeclareLaunchArgument("seed", default_value="0"),
            DeclareLaunchArgument("gui", default_value="false")]
    return LaunchDescription(args + [OpaqueFunction(function=nodes)])
