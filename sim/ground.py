"""What the robot walks on. A ground builds its bodies in a PyBullet world, knows its height, and
may push on the feet (vegetation). ``FlatGround`` is the plane of `semloco walk`; trails live in
``sim/trail_world.py``."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Ground(Protocol):
    has_foot_forces: bool

    def build(self, p) -> None:
        """Create the ground's bodies through ``p`` (pybullet calls bound to the world's client)."""

    def height_at(self, x: float, y: float) -> float:
        """Nominal ground height (without small-scale bumps) at a point, m."""

    def foot_forces(self, positions: np.ndarray, velocities: np.ndarray) -> np.ndarray:
        """(4, 3) external forces on the feet (world frame) given their positions and velocities."""

    def feet_may_drag(self, trunk_x: float) -> bool:
        """Whether a foot of a trunk at ``trunk_x`` can be in a drag layer (else ``foot_forces`` is zero)."""


class FlatGround:
    has_foot_forces = False

    def __init__(self, lateral_friction: float = 1.0):
        self.lateral_friction = lateral_friction
        self.body_id = -1

    def build(self, p) -> None:
        self.body_id = p.loadURDF("plane.urdf")
        p.changeDynamics(self.body_id, -1, lateralFriction=self.lateral_friction)

    def height_at(self, x: float, y: float) -> float:
        return 0.0

    def foot_forces(self, positions: np.ndarray, velocities: np.ndarray) -> np.ndarray:
        return np.zeros((len(positions), 3))

    def feet_may_drag(self, trunk_x: float) -> bool:
        return False
