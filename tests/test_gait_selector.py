"""Gait selector: monotone and continuous in speed, exact at its anchors, smooth while walking."""

import numpy as np
import pytest
import yaml

from locomotion.config import ConfigError
from locomotion.gait import GaitScheduler, GaitTransitionRates, load_gait_presets
from locomotion.gait_selector import load_gait_selector

SPEEDS = np.linspace(0.0, 2.0, 401)


@pytest.fixture(scope="module")
def selector():
    return load_gait_selector()


def test_slow_is_low_frequency_high_swing_and_fast_the_opposite(selector):
    table = np.array([selector.select(v).as_array() for v in SPEEDS])
    frequency, duty, swing, base = table[:, 0], table[:, 1], table[:, 6], table[:, 7]
    assert np.all(np.diff(frequency) >= 0)
    assert np.all(np.diff(swing) <= 0)
    assert np.all(np.diff(base) <= 0)
    assert np.all(np.diff(duty) <= 0)
    assert frequency[-1] > frequency[0] and swing[-1] < swing[0]


def test_the_map_is_continuous(selector):
    # Lipschitz: no parameter changes by more than slope_max * dv between neighbouring speeds
    table = np.array([selector.select(v).as_array() for v in SPEEDS])
    steps = np.abs(np.diff(table, axis=0)).max(axis=0)
    dv = SPEEDS[1] - SPEEDS[0]
    slopes = np.abs(np.diff(selector.table, axis=0) / np.diff(selector.speeds)[:, None]).max(axis=0)
    assert np.all(steps <= slopes * dv + 1e-12)


def test_anchors_are_reproduced_and_held_outside(selector):
    presets = load_gait_presets()
    assert selector.select(0.5) == presets["slow"]
    assert selector.select(1.0) == presets["medium"]
    assert selector.select(1.4) == presets["fast"]
    assert selector.select(0.1) == presets["slow"]
    assert selector.select(2.5) == presets["fast"]
    with pytest.raises(ValueError, match="speed_mps"):
        selector.select(float("nan"))


def test_gait_changes_while_walking_are_rate_limited(selector):
    rates = GaitTransitionRates()
    scheduler = GaitScheduler(selector.select(0.5), rates)
    dt = 0.002
    previous = scheduler.params.as_array()
    for k in range(1500):
        speed = 0.5 if k < 100 else 1.4  # a step in the desired speed
        scheduler.set_target(selector.select(speed))
        scheduler.update(dt)
        now = scheduler.params.as_array()
        assert abs(now[0] - previous[0]) <= rates.frequency_hz_per_s * dt + 1e-9
        assert abs(now[6] - previous[6]) <= rates.swing_height_m_per_s * dt + 1e-9
        previous = now
    assert scheduler.params == selector.select(1.4)


@pytest.mark.parametrize("anchors, message", [
    ([{"speed_mps": 1.0, "gait": "slow"}, {"speed_mps": 0.5, "gait": "fast"}], "must increase"),
    ([{"speed_mps": 0.5, "gait": "fast"}, {"speed_mps": 1.0, "gait": "slow"}], "stepping_frequency_hz"),
    ([{"speed_mps": 0.5, "gait": "slow"}, {"speed_mps": 1.0, "gait": "walk"}], "phase_offsets"),
    ([{"speed_mps": 0.5, "gait": "gallop"}], r"anchors\[0\].gait: unknown gait 'gallop'"),
    ([{"speed_mps": "fast", "gait": "slow"}], r"anchors\[0\].speed_mps"),
])
def test_bad_configurations_name_the_problem(tmp_path, anchors, message):
    path = tmp_path / "gait_selector.yaml"
    path.write_text(yaml.safe_dump({"anchors": anchors}))
    with pytest.raises(ConfigError, match=message):
        load_gait_selector(path)
