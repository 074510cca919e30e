"""ament_python package semantic_locomotion (also installs with plain pip)."""

from glob import glob

from setuptools import setup

PACKAGE = "semantic_locomotion"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=["semantic_locomotion", "locomotion", "robot_perception", "robot_perception.melon", "sim"],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/config/trails", glob("config/trails/*.yaml")),
        (f"share/{PACKAGE}/models", glob("models/*")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="semantic_locomotion developers",
    maintainer_email="semantic-locomotion@example.org",
    description=(
        "Terrain-semantics-aware quadruped locomotion: perception, learned speed policy, "
        "gait selection, convex MPC."
    ),
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "semloco = semantic_locomotion.cli:main",
            "controller_node = locomotion.controller_node:main",
            "sim_node = sim.sim_node:main",
            "segmentation_node = robot_perception.segmentation_node:main",
            "depth_node = robot_perception.depth_node:main",
            "ground_pose_node = robot_perception.ground_pose_node:main",
            "speed_policy_node = locomotion.speed_policy_node:main",
            "gait_selector_node = locomotion.gait_selector_node:main",
            "recorder_node = semantic_locomotion.recorder_node:main",
            "joy_teleop = locomotion.teleop_node:joy_main",
            "keyboard_teleop = locomotion.teleop_node:keyboard_main",
            "melon_node = robot_perception.melon.melon_node:main",
        ],
    },
)
