"""Start the locomotion controller (with its simulated A1) on a full ROS 2 install:

    ros2 launch semantic_locomotion locomotion.launch.py gait:=trot gui:=false

Without `ros2 launch` (e.g. from PyPI wheels), the same node starts with:

    python -m locomotion.controller_node --ros-args -p gait:=trot -p gui:=false
"""

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    args = [
        DeclareLaunchArgument("gait", default_value="trot", description="gait preset from config/gaits.yaml"),
        DeclareLaunchArgument("gui", default_value="false", description="open the PyBullet window"),
        DeclareLaunchArgument("seed", default_value="0", description="sensor-noise seed"),
        DeclareLaunchArgument("real_time_factor", default_value="1.0", description="sim pacing; <= 0 is unpaced"),
    ]
    controller = Node(
        package="semantic_locomotion",
        executable="controller_node",
        name="locomotion_controller",
        output="screen",
        parameters=[{
            "gait": LaunchConfiguration("gait"),
            "gui": LaunchConfiguration("gui"),
            "seed": LaunchConfiguration("seed"),
            "real_time_factor": LaunchConfiguration("real_time_factor"),
        }],
    )
    return LaunchDescription(args + [controller])
