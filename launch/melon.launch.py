"""Start MELON pose inference on a camera's image topic, on a full ROS 2 install:

    ros2 launch semantic_locomotion melon.launch.py image:=camera/image_raw keyframes:=40

It collects ``keyframes`` views (every ``every_n``-th frame, resized to 64x64), infers their camera
poses and a neural field in the background, and publishes melon/poses (geometry_msgs/PoseArray) and
melon/status (std_msgs/String, JSON). Without `ros2 launch` (e.g. from PyPI wheels):

    python -m robot_perception.melon.melon_node --ros-args -p keyframes:=40 -r camera/image_raw:=/my/image
"""

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    args = [
        DeclareLaunchArgument("image", default_value="camera/image_raw", description="image topic to take views from"),
        DeclareLaunchArgument("keyframes", default_value="40", description="views to collect before inferring"),
        DeclareLaunchArgument("every_n", default_value="5", description="take every n-th frame as a keyframe"),
        DeclareLaunchArgument("radius", default_value="3.0", description="camera distance from the object centre"),
        DeclareLaunchArgument("fov_deg", default_value="40.0", description="camera field of view, degrees"),
        DeclareLaunchArgument("modulo", default_value="2", description="N pseudo-symmetric replicas (1, 2, 4)"),
        DeclareLaunchArgument("work_dir", default_value="/tmp", description="a new melon_* folder here per run"),
    ]
    melon = Node(
        package="semantic_locomotion",
        executable="melon_node",
        name="melon_pose_inference",
        output="screen",
        parameters=[{
            "keyframes": LaunchConfiguration("keyframes"),
            "every_n": LaunchConfiguration("every_n"),
            "radius": LaunchConfiguration("radius"),
            "fov_deg": LaunchConfiguration("fov_deg"),
            "modulo": LaunchConfiguration("modulo"),
            "work_dir": LaunchConfiguration("work_dir"),
        }],
        remappings=[("camera/image_raw", LaunchConfiguration("image"))],
    )
    return LaunchDescription(args + [melon])
