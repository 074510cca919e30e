"""Record teleoperated demonstrations on a full ROS 2 install: the sim (or your robot's driver
publishing the same topics), a joystick teleop with a dead-man button, and the recorder writing a
rosbag2/MCAP bag for `semloco demos`:

    ros2 launch semantic_locomotion demonstrate.launch.py trail:=demo output:=demos/run1

Needs a joy driver publishing /joy (`ros2 run joy joy_node`). Without `ros2 launch`, the same:

    python -m sim.sim_node --ros-args -p trail:=demo -p gait:=slow &
    python -m locomotion.teleop_node joy &          # or: python -m locomotion.teleop_node keyboard
    python -m semantic_locomotion.recorder_node --ros-args -p output:=demos/run1
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    args = [DeclareLaunchArgument("trail", default_value="demo"),
            DeclareLaunchArgument("output", default_value=""),
            DeclareLaunchArgument("with_sim", default_value="true")]
    sim = Node(package="semantic_locomotion", executable="sim_node", name="sim", output="screen",
               parameters=[{"trail": LaunchConfiguration("trail"), "gait": "slow"}],
               condition=IfCondition(LaunchConfiguration("with_sim")))
    teleop = Node(package="semantic_locomotion", executable="joy_teleop", name="joy_teleop", output="screen")
    recorder = Node(package="semantic_locomotion", executable="recorder_node", name="demo_recorder", output="screen",
                    parameters=[{"output": LaunchConfiguration("output")}])
    return LaunchDescription(args + [sim, teleop, recorder])
