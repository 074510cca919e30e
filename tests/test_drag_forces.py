"""sim.trail_world.drag_forces (the compiled per-physics-step foot drag) equals the NumPy version it
replaced, float for float, on a trail with drag layers, slopes and feet in and out of the layers."""

import numpy as np

from sim.trail import Trail, TrailSegment
from sim.trail_world import FOOT_RADIUS_M, TrailGround

TRAIL = Trail("drag", 3, (TrailSegment("asphalt", 4.0), TrailSegment("deep_grass", 5.0, 3.0),
                          TrailSegment("mud", 4.0, -2.0), TrailSegment("gravel", 3.0)))


def reference_foot_forces(ground: TrailGround, positions: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """The NumPy implementation of TrailGround.foot_forces before the kernel."""
    positions = np.asarray(positions, dtype=float)
    forces = np.zeros_like(positions)
    x = positions[:, 0]
    idx = np.clip(np.searchsorted(ground._starts, x, side="right") - 1, 0, len(ground.segments) - 1)
    nominal = ground._h_starts[idx] + (x - ground._starts[idx]) * ground._slopes[idx]
    heights = positions[:, 2] - FOOT_RADIUS_M - nominal
    layer_height = ground._layer_height[idx]
    dragged = (layer_height > 0) & (heights < layer_height) & (ground._layer_quadratic[idx] > 0)
    if not dragged.any():
        return forces
    seg = idx[dragged]
    moving = np.array(velocities, dtype=float)[dragged]
    moving[~ground._layer_vertical[seg], 2] = 0.0
    speed = np.linalg.norm(moving, axis=1)
    depth = np.clip((layer_height[dragged] - heights[dragged]) / layer_height[dragged], 0.0, 1.0)
    magnitude = np.minimum(ground._layer_quadratic[seg] * depth * speed**2, ground._layer_max_force[seg])
    direction = np.divide(moving, speed[:, None], out=np.zeros_like(moving), where=speed[:, None] > 1e-9)
    forces[dragged] = -magnitude[:, None] * direction
    return forces


def test_drag_forces_equal_the_numpy_reference():
    ground = TrailGround(TRAIL)
    try:
        assert ground._layer_height.max() > 0 and ground._layer_vertical.any() and not ground._layer_vertical.all()
        rng = np.random.default_rng(0)
        dragged = 0
        for _ in range(3000):
            n = int(rng.integers(1, 5))
            x = rng.uniform(-4.0, 22.0, n)
            z = ground.heights_at(x) + FOOT_RADIUS_M + rng.uniform(-0.05, 0.3, n)
            positions = np.stack([x, rng.uniform(-1, 1, n), z], axis=1)
            velocities = rng.normal(0.0, 1.0, (n, 3)) * rng.choice([0.0, 1e-12, 1.0], (n, 1))
            expected = reference_foot_forces(ground, positions, velocities)
            got = ground.foot_forces(positions, velocities)
            assert got.shape == expected.shape and np.array_equal(got, expected), (positions, velocities)
            dragged += int(np.count_nonzero(np.any(expected != 0, axis=1)))
        assert dragged > 300  # not vacuous: many feet in a layer
    finally:
        ground.close()
