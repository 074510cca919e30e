"""Start terrain perception (segmentation + embedding, depth + point cloud + obstacle check, ground pose
+ corridor depth summary) next to a camera publishing camera/image_raw and camera/camera_info and an
IMU publishing imu/data, on a full ROS 2 install:

    ros2 launch semantic_locomotion perception.launch.py with_sim:=true

Without `ros2 launch` (e.g. from PyPI wheels), start the same nodes with:

    python -m sim.sim_node --ros-args -p trail:=demo &
    python -m robot_perception.segmentation_node &
    python -m robot_perception.depth_node &
    python -m robot_perception.ground_pose_node
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    checkpoint = LaunchConfiguration("checkpoint")
    args = [
        DeclareLaunchArgument("checkpoint", default_value="", description="TerrainNet checkpoint (default: shipped)"),
        DeclareLaunchArgument("with_sim", default_value="false", description="also start the simulated A1 on a trail"),
        DeclareLaunchArgument("trail", default_value="demo"),
        DeclareLaunchArgument("camera_mount_pitch_deg", default_value="20.0",
                              description="the camera's downward pitch on the trunk (config/camera.yaml)"),
    ]
    params = [{"checkpoint": checkpoint}]  # "" means the shipped models/terrain_net.pt
    nodes = [
        Node(package="semantic_locomotion", executable="segmentation_node", name="terrain_segmentation",
             output="screen", parameters=params),
        Node(package="semantic_locomotion", executable="depth_node", name="terrain_depth", output="screen",
             parameters=[{**params[0], "camera_mount_pitch_deg": LaunchConfiguration("camera_mount_pitch_deg")}]),
        Node(package="semantic_locomotion", executable="ground_pose_node", name="ground_pose", output="screen",
             parameters=[{"perception_checkpoint": checkpoint,
                          "camera_mount_pitch_deg": LaunchConfiguration("camera_mount_pitch_deg")}]),
        Node(package="semantic_locomotion", executable="sim_node", name="sim", output="screen",
             parameters=[{"trail": LaunchConfiguration("trail")}],
             condition=IfCondition(LaunchConfiguration("with_sim"))),
    ]
    return LaunchDescription(args + nodes)
