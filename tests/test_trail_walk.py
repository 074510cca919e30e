"""A trail is walkable end to end, over every walkable class and slopes, with progress measured."""

from locomotion.gait import load_gait_presets
from sim.terrain import WALKABLE_CLASSES
from sim.trail import Trail, TrailSegment
from sim.trail_walk import walk_trail_with_skill


def test_slow_skill_walks_a_trail_of_every_terrain():
    slopes = [0.0, 3.0, 0.0, -3.0, 0.0, 2.0, 0.0, 0.0]
    trail = Trail("all_terrains", 21, tuple(TrailSegment(t, 2.5, s) for t, s in zip(WALKABLE_CLASSES, slopes)))
    result = walk_trail_with_skill(trail, load_gait_presets()["slow"], 0.5, seed=0)
    assert result.completed and not result.fell
    assert result.distance_m >= trail.length_m - 0.5
    assert result.max_lateral_offset_m < 0.5  # stayed on the 3 m trail
    assert 0.25 < result.mean_speed_mps < 0.55
