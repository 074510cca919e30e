"""Start the simulated A1 on a trail with its onboard camera (the sim node drives the robot with the
locomotion controller in-process) on a full ROS 2 install:

    ros2 launch semantic_locomotion sim.launch.py trail:=demo gait:=slow

Without `ros2 launch` (e.g. from PyPI wheels), the same node starts with:

    python -m sim.sim_node --ros-args -p trail:=demo -p gait:=slow
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    names = {"trail": "demo", "gait": "slow", "seed": "0", "gui": "false", "real_time_factor": "1.0"}
    args = [DeclareLaunchArgument(name, default_value=value) for name, value in names.items()]
    sim = Node(
        package="semantic_locomotion",
        executable="sim_node",
        name="sim",
        output="screen",
        parameters=[{name: LaunchConfiguration(name) for name in names}],
    )
    return LaunchDescription(args + [sim])
