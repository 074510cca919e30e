"""Terrain catalogue and trail files: good ones load, bad ones are rejected by field name."""

import numpy as np
import pytest

from locomotion.config import ConfigError, config_dir
from sim.terrain import SCENERY_CLASSES, WALKABLE_CLASSES, load_terrain_catalogue
from sim.trail import builtin_trails, load_trail, trail_from_dict

EXAMPLE = """\
name: example
seed: 3
segments:
  - {terrain: asphalt, length_m: 12}
  - {terrain: deep_grass, length_m: 8, slope_deg: 3}
"""


def test_catalogue_has_the_required_classes():
    catalogue = load_terrain_catalogue()
    assert tuple(catalogue.walkable) == WALKABLE_CLASSES
    assert set(SCENERY_CLASSES) <= set(catalogue.scenery)
    assert catalogue.label_id("asphalt") == 0
    # deformable ground is softer than rigid ground, deep grass drags harder than grass
    assert catalogue.walkable["asphalt"].contact.stiffness_n_per_m is None
    assert catalogue.walkable["mud"].contact.stiffness_n_per_m < catalogue.walkable["gravel"].contact.stiffness_n_per_m
    assert catalogue.walkable["deep_grass"].drag_layer.height_m > catalogue.walkable["grass"].drag_layer.height_m


def test_the_issue_example_loads(tmp_path):
    path = tmp_path / "example.yaml"
    path.write_text(EXAMPLE)
    trail = load_trail(path)
    assert trail.name == "example" and trail.seed == 3 and trail.width_m == 3.0
    assert [s.terrain for s in trail.segments] == ["asphalt", "deep_grass"]
    assert trail.segments[1].slope_deg == 3.0
    assert trail.length_m == 20.0
    assert trail.terrain_at(5.0) == "asphalt" and trail.terrain_at(12.5) == "deep_grass"


def test_builtin_trails():
    demo = load_trail("demo")
    assert 55 <= demo.length_m <= 65 and len({s.terrain for s in demo.segments}) >= 4
    paper = load_trail("paper460")
    assert paper.length_m == 460.0
    assert {s.terrain for s in paper.segments} >= {"grass", "gravel", "asphalt"}
    # every shipped trail loads (builtin_trails lists config/trails/*.yaml)
    assert {"demo", "paper460", "short", "obstacle", "hills", "boulder_slope"} <= set(builtin_trails())
    for name in builtin_trails():
        assert load_trail(name).name == name
    # the selection trails (config/trails/selection/) load by path and are not built-in names
    selection = sorted((config_dir() / "trails" / "selection").glob("*.yaml"))
    assert len(selection) == 4 and not {p.stem for p in selection} & set(builtin_trails())
    for path in selection:
        assert load_trail(path).name == path.stem


def test_hills_trail_has_climbs_descents_crests_and_dips():
    hills = load_trail("hills")
    assert hills.length_m >= 80
    slopes = [s.slope_deg for s in hills.segments]
    sloped = [a for a in slopes if a != 0]
    assert all(5 <= abs(a) <= 10 for a in sloped), slopes
    assert max(sloped) >= 5 and min(sloped) <= -5  # climbs and descents
    changes = np.diff(slopes)  # change of slope from one segment to the next (deg)
    assert np.sum(changes <= -5) >= 2, changes  # crests
    assert np.sum(changes >= 5) >= 2, changes  # dips
    terrains = {s.terrain for s in hills.segments}
    assert len(terrains) >= 4 and terrains <= set(WALKABLE_CLASSES)


def test_boulder_slope_trail_puts_the_boulder_on_a_climb():
    trail = load_trail("boulder_slope")
    (boulder,) = trail.obstacles
    starts = trail.segment_starts_m
    index = int(np.searchsorted(starts, boulder.at_m, side="right")) - 1
    ramp = trail.segments[index]
    assert ramp.slope_deg >= 5 and ramp.terrain in ("asphalt", "concrete")
    # the whole boulder stands on the ramp, a few metres up it, with ramp left beyond it
    assert starts[index] + 3 <= boulder.at_m and boulder.at_m + boulder.size_m < starts[index] + ramp.length_m
    assert boulder.lateral_m == 0.0


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d["segments"][0].update(terrain="lava"), r"segments\[0\]\.terrain"),
        (lambda d: d["segments"][0].update(terrain="sky"), r"segments\[0\]\.terrain"),
        (lambda d: d["segments"][1].update(length_m=-4), r"segments\[1\]\.length_m"),
        (lambda d: d["segments"][1].update(length_m="long"), r"segments\[1\]\.length_m"),
        (lambda d: d["segments"][1].update(slope_deg=40), r"segments\[1\]\.slope_deg"),
        (lambda d: d["segments"][0].update(lenght_m=3), r"segments\[0\]\.lenght_m: unknown field"),
        (lambda d: d["segments"][0].pop("length_m"), r"segments\[0\]\.length_m: missing"),
        (lambda d: d.update(seed="three"), "seed"),
        (lambda d: d.update(width_m=0.2), "width_m"),
        (lambda d: d.update(segments=[]), "segments"),
        (lambda d: d.pop("name"), "name: missing"),
        (lambda d: d.update(colour="red"), "colour: unknown field"),
    ],
)
def test_bad_trails_name_the_field(mutate, field):
    data = {"name": "t", "seed": 1, "segments": [{"terrain": "asphalt", "length_m": 5},
                                                 {"terrain": "mud", "length_m": 5}]}
    mutate(data)
    with pytest.raises(ConfigError, match=field):
        trail_from_dict(data)


def test_unknown_builtin_trail_lists_the_known_ones():
    with pytest.raises(ConfigError, match="demo"):
        load_trail("moon")


def test_drag_layer_grows_with_depth_and_speed():
    import numpy as np

    from sim.terrain import layer_drag

    deep = load_terrain_catalogue().walkable["deep_grass"].drag_layer
    heights = np.array([0.0, 0.14, 0.14, 0.30, 0.05])
    velocity = np.array([[3.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    force = layer_drag(heights, velocity, deep)
    np.testing.assert_allclose(force[0], [-deep.max_force_n, 0.0, 0.0])  # fast and low: capped
    depth = (deep.height_m - 0.14) / deep.height_m
    np.testing.assert_allclose(force[1], [-deep.quadratic * depth, 0.0, 0.0])  # slow, near the top
    np.testing.assert_allclose(force[2], [0.0, -deep.quadratic * depth, 0.0])  # stems don't resist lifting
    np.testing.assert_allclose(force[3:], 0.0)  # above the grass, or standing still
    mud = load_terrain_catalogue().walkable["mud"].drag_layer
    lifting = layer_drag(np.array([0.0]), np.array([[0.0, 0.0, 0.5]]), mud)
    assert lifting[0, 2] < 0  # suction on a foot pulled out of mud
    asphalt = load_terrain_catalogue().walkable["asphalt"].drag_layer
    assert np.all(layer_drag(heights, velocity, asphalt) == 0.0)


def test_random_trails_have_slopes_crests_and_dips_within_bounds():
    from sim.trail import random_trail

    trails = [random_trail(seed) for seed in range(40)]
    slopes = np.array([s.slope_deg for t in trails for s in t.segments])
    assert np.all(np.abs(slopes) <= 10.0) and (slopes == 0).mean() == pytest.approx(0.4, abs=0.12)
    assert slopes.max() > 8.0 and slopes.min() < -8.0
    changes = np.array([b.slope_deg - a.slope_deg for t in trails for a, b in zip(t.segments, t.segments[1:])])
    assert (changes < -8.0).sum() >= 5 and (changes > 8.0).sum() >= 5  # crests and dips
    assert all(s.slope_deg == 0.0 for s in random_trail(3, max_slope_deg=0.0).segments)
    with pytest.raises(ValueError, match="max_slope_deg"):
        random_trail(0, max_slope_deg=20.0)
