"""The scripted demonstrator's wish: terrain preferences as before on flat trails, and on hills the
slope rule (steep descents and climbs, crests and dips within a window around the trunk)."""

import dataclasses

import numpy as np
import pytest
import yaml

from locomotion.config import ConfigError, config_dir
from locomotion.gait_selector import load_gait_selector
from sim.demonstrator import (ScriptedDemonstrator, SlopeCap, SlopeChangeCap, load_demonstrator_config,
                              preferred_speed, slope_changes)
from sim.trail import Trail, TrailSegment, load_trail

AHEAD, BEHIND = 2.0, 0.5


def rule(**overrides):
    """The shipped terrain preferences with a slope rule fixed here (independent of the YAML's tuning)."""
    fields = dict(lookahead_slope_m=AHEAD, lookbehind_slope_m=BEHIND,
                  descent_caps=(SlopeCap(10.0, 0.5), SlopeCap(6.0, 1.0)), climb_caps=(SlopeCap(10.0, 0.5),),
                  slope_change_caps=(SlopeChangeCap(8.0, 0.5),))
    fields.update(overrides)
    return dataclasses.replace(load_demonstrator_config(), **fields)


def asphalt(*pieces):
    return Trail("t", 1, tuple(TrailSegment("asphalt", length, slope) for length, slope in pieces))


def wishes(trail, config, points):
    return [preferred_speed(trail, config, x) for x in points]


def terrain_only(trail, config, x):
    """The demonstrator's wish before the hills rule: the slowest preference in its terrain window."""
    probes = np.arange(x - config.lookbehind_m, x + config.lookahead_m + 1e-9, 0.1)
    return min(config.preferred_speed_mps[trail.terrain_at(float(p))] for p in probes)


@pytest.mark.parametrize("name", ["short", "demo", "paper460", "obstacle"])
def test_flat_and_gentle_trails_keep_the_terrain_figures(name):
    trail, config = load_trail(name), load_demonstrator_config()
    for x in np.arange(0.0, trail.length_m, 0.1):
        assert preferred_speed(trail, config, float(x)) == terrain_only(trail, config, float(x)), x


def test_short_trail_figures():
    trail, config = load_trail("short"), load_demonstrator_config()
    # deep grass from 5 to 9 m: seen 1.5 m ahead, kept until the hind legs are 0.3 m out, then gravel
    assert wishes(trail, config, [0.0, 3.4, 3.6, 9.2, 9.4, 14.0]) == [1.4, 1.4, 0.5, 0.5, 1.0, 1.0]


def test_slows_before_a_steep_descent_and_only_near_it():
    steep = asphalt((20, 0), (10, -12), (20, 0))  # descent from 20 to 30 m
    config = rule(slope_change_caps=())  # the descent alone, not the crest and dip at its ends
    before, inside, after = 20 - AHEAD, 25.0, 30 + BEHIND
    assert wishes(steep, config, [before - 0.05, before + 0.05, inside, after - 0.05, after + 0.05]) == \
        [1.4, 0.5, 0.5, 0.5, 1.4]
    medium = asphalt((20, 0), (10, -8), (20, 0))
    assert wishes(medium, config, [before - 0.05, before + 0.05, inside, after + 0.05]) == [1.4, 1.0, 1.0, 1.4]
    # not steeper than the thresholds: 6 deg down and 10 deg up keep the terrain's speed
    assert wishes(asphalt((20, 0), (10, -6), (20, 0)), config, [19.0, 25.0]) == [1.4, 1.4]
    assert wishes(asphalt((20, 0), (10, 10), (20, 0)), config, [19.0, 25.0]) == [1.4, 1.4]
    assert wishes(asphalt((20, 0), (10, 12), (20, 0)), config, [17.9, 19.0, 25.0]) == [1.4, 0.5, 0.5]


def test_slows_before_a_crest_and_a_dip_within_the_window_only():
    # gentle slopes (no descent cap) making a 9 deg crest at 30 m, a 9 deg dip at 40 m and a 4 deg
    # crest at 50 m
    hills = asphalt((20, 0), (10, 4), (10, -5), (10, 4), (20, 0))
    assert slope_changes(hills) == [(20.0, 4.0), (30.0, -9.0), (40.0, 9.0), (50.0, -4.0)]
    config = rule()
    for change_at in (30.0, 40.0):
        points = [change_at - AHEAD - 0.05, change_at - AHEAD + 0.05, change_at, change_at + BEHIND - 0.05,
                  change_at + BEHIND + 0.05]
        assert wishes(hills, config, points) == [1.4, 0.5, 0.5, 0.5, 1.4], change_at
    # the 4 deg changes at 20 and 50 m are below the threshold
    assert wishes(hills, config, [19.0, 20.0, 49.0, 50.0, 60.0]) == [1.4] * 5
    # the ends are no change (the world continues the first and last slopes): a 9 deg climb from
    # the start with no cap on climbs is walked at the terrain's speed
    assert wishes(asphalt((10, 9), (10, 9)), rule(climb_caps=()), [0.0, 5.0, 19.5]) == [1.4, 1.4, 1.4]


def test_the_slope_rule_never_raises_the_terrain_wish():
    trail = Trail("t", 1, (TrailSegment("asphalt", 10), TrailSegment("deep_grass", 10, -12.0),
                           TrailSegment("gravel", 10, 8.0)))
    config = rule()
    for x in np.arange(0.0, 30.0, 0.1):
        assert preferred_speed(trail, config, float(x)) <= terrain_only(trail, config, float(x))
    assert preferred_speed(trail, config, 15.0) == 0.5  # deep grass: already slow
    assert preferred_speed(trail, config, 25.0) == 1.0  # gravel on a gentle climb: the terrain's figure


def test_the_stick_follows_the_slope_rule_after_the_reaction_delay():
    trail = asphalt((20, 0), (10, -12), (20, 0))
    config = dataclasses.replace(rule(), noise_std_mps=0.0)
    demonstrator = ScriptedDemonstrator(trail, config)
    # walking at 1 m/s: the descent's window starts at 18 m (t = 18 s), the stick moves 0.4 s later
    commands = {round(t, 2): demonstrator.command(t, t) for t in np.arange(0.0, 40.0, 0.02)}
    assert commands[17.9] == 1.4 and commands[18.3] == 1.4 and commands[18.5] == 0.5
    assert commands[30.8] == 0.5 and commands[31.0] == 1.4


def test_shipped_caps_are_the_gait_skills():
    config = load_demonstrator_config()
    skills = {float(speed) for speed in load_gait_selector().speeds}  # config/gait_selector.yaml's anchors
    caps = config.descent_caps + config.climb_caps + config.slope_change_caps
    assert caps and {cap.speed_mps for cap in caps} <= skills
    # what the controller engineer's first runs allow (see config/demonstrator.yaml): a change of
    # 8 deg or more is walked slow; so is a descent steeper than 10 deg; 6-10 deg descents medium
    crest = asphalt((20, 4), (20, -4))
    assert preferred_speed(crest, config, 20.0) == 0.5
    assert preferred_speed(asphalt((20, 0), (20, -11), (20, 0)), config, 30.0) == 0.5
    assert preferred_speed(asphalt((20, 0), (20, -7), (20, 0)), config, 30.0) == 1.0


def write_config(tmp_path, mutate):
    data = yaml.safe_load((config_dir() / "demonstrator.yaml").read_text())
    mutate(data)
    path = tmp_path / "demonstrator.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["descent_caps"][1].update(speed_mps=0), r"descent_caps\[1\]\.speed_mps"),
    (lambda d: d["climb_caps"][0].update(speed_mps=3.0), r"climb_caps\[0\]\.speed_mps"),
    (lambda d: d["slope_change_caps"][0].update(at_least_deg=-3), r"slope_change_caps\[0\]\.at_least_deg"),
    (lambda d: d["descent_caps"][0].update(steeper_than_deg="steep"), r"descent_caps\[0\]\.steeper_than_deg"),
    (lambda d: d["descent_caps"][0].update(steeper=5), r"descent_caps\[0\]\.steeper: unknown field"),
    (lambda d: d["slope_change_caps"][0].pop("speed_mps"), r"slope_change_caps\[0\]\.speed_mps: missing"),
    (lambda d: d.update(climb_caps="steep"), r"climb_caps: expected a list"),
    (lambda d: d.update(lookahead_slope_m=-1.0), r"lookahead_slope_m: must be non-negative"),
])
def test_bad_slope_rules_name_the_field(tmp_path, mutate, field):
    path = write_config(tmp_path, mutate)
    with pytest.raises(ConfigError, match=field) as info:
        load_demonstrator_config(path)
    assert "\n" not in str(info.value)
    assert load_demonstrator_config().slope_change_caps  # the shipped file has a rule
