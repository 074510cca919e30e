"""The robot as the controller sees it: names, geometry, mass properties and limits.

Everything robot-specific is data in ``config/robot_<name>.yaml``; this module only loads it.
Joint order everywhere in the controller is Unitree's: FR, FL, RR, RL legs, each hip, thigh, calf.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from functools import cached_property
from pathlib import Path

import numpy as np

from locomotion.config import ConfigError, config_dir, load_dataclass

LEG_NAMES = ("FR", "FL", "RR", "RL")
JOINT_KINDS = ("hip", "thigh", "calf")
MOTOR_NAMES = tuple(f"{leg}_{kind}" for leg in LEG_NAMES for kind in JOINT_KINDS)
NUM_LEGS = 4
NUM_MOTORS = 12


@dataclasses.dataclass(frozen=True)
class RobotDescription:
    name: str
    urdf: str
    legs: tuple[str, ...]
    urdf_joint_names: dict[str, str]
    foot_links: dict[str, str]
    hip_offsets_m: dict[str, tuple[float, float, float]]
    abduction_link_m: float
    thigh_length_m: float
    calf_length_m: float
    foot_radius_m: float
    torque_limit_nm: float
    mass_kg: float
    body_inertia_kgm2: tuple[tuple[float, float, float], ...]
    com_offset_m: tuple[float, float, float]
    stand_joint_angles_rad: tuple[float, float, float]
    lie_joint_angles_rad: tuple[float, float, float]
    spawn_height_m: float

    def __post_init__(self) -> None:
        if tuple(self.legs) != LEG_NAMES:
            raise ValueError(f"legs: must be {list(LEG_NAMES)} (Unitree order), got {list(self.legs)}")
        missing = [m for m in MOTOR_NAMES if m not in self.urdf_joint_names]
        if missing:
            raise ValueError(f"urdf_joint_names: missing {missing[0]}")
        for leg in LEG_NAMES:
            if leg not in self.hip_offsets_m:
                raise ValueError(f"hip_offsets_m: missing {leg}")
            if leg not in self.foot_links:
                raise ValueError(f"foot_links: missing {leg}")
        for field in ("thigh_length_m", "calf_length_m", "mass_kg", "torque_limit_nm"):
            if getattr(self, field) <= 0:
                raise ValueError(f"{field}: must be positive, got {getattr(self, field)}")
        if len(self.body_inertia_kgm2) != 3 or any(len(r) != 3 for r in self.body_inertia_kgm2):
            raise ValueError("body_inertia_kgm2: must be a 3x3 matrix")

    # --- derived arrays -------------------------------------------------------------------
    @cached_property
    def hip_offsets(self) -> np.ndarray:
        """(4, 3) hip joint origins in the trunk frame, Unitree leg order."""
        return np.array([self.hip_offsets_m[leg] for leg in LEG_NAMES], dtype=float)

    @cached_property
    def leg_sides(self) -> np.ndarray:
        """(4,) +1 for left legs, -1 for right legs."""
        return np.array([1.0 if leg.endswith("L") else -1.0 for leg in LEG_NAMES])

    @cached_property
    def inertia(self) -> np.ndarray:
        return np.array(self.body_inertia_kgm2, dtype=float)

    @cached_property
    def stand_pose(self) -> np.ndarray:
        return np.tile(np.array(self.stand_joint_angles_rad, dtype=float), NUM_LEGS)

    @cached_property
    def lie_pose(self) -> np.ndarray:
        return np.tile(np.array(self.lie_joint_angles_rad, dtype=float), NUM_LEGS)

    @property
    def urdf_path(self) -> Path:
        return resolve_urdf(self.urdf)

    @cached_property
    def joint_limits(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) joint position limits in Unitree order, read from the URDF."""
        return urdf_joint_limits(self.urdf_path, [self.urdf_joint_names[m] for m in MOTOR_NAMES])

    @property
    def torque_limits(self) -> np.ndarray:
        return np.full(NUM_MOTORS, self.torque_limit_nm)


def resolve_urdf(spec: str) -> Path:
    if spec.startswith("pybullet_data:"):
        import pybullet_data

        path = Path(pybullet_data.getDataPath()) / spec.split(":", 1)[1]
    else:
        path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"urdf: file not found: {path}")
    return path


def urdf_joint_limits(urdf_path: Path, joint_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    root = ET.parse(urdf_path).getroot()
    limits = {}
    for joint in root.iter("joint"):
        limit = joint.find("limit")
        if limit is not None and joint.get("type") == "revolute":
            limits[joint.get("name")] = (float(limit.get("lower")), float(limit.get("upper")))
    missing = [n for n in joint_names if n not in limits]
    if missing:
        raise ConfigError(f"urdf_joint_names: {missing[0]} is not a revolute joint of {urdf_path}")
    lower = np.array([limits[n][0] for n in joint_names])
    upper = np.array([limits[n][1] for n in joint_names])
    return lower, upper


def load_robot(name_or_path: str = "a1") -> RobotDescription:
    """Load ``config/robot_<name>.yaml`` or a YAML file given by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = config_dir() / f"robot_{name_or_path}.yaml"
    return load_dataclass(RobotDescription, path)
