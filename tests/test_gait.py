"""Gait scheduler: phases, contact pattern, presets and smooth parameter changes."""

import dataclasses

import numpy as np
import pytest

from locomotion.config import ConfigError
from locomotion.gait import GaitParameters, GaitScheduler, GaitTransitionRates, load_gait_presets

PRESETS = load_gait_presets()


def test_presets_exist_and_are_valid():
    for name in ("stand", "walk", "trot", "flying_trot"):
        assert name in PRESETS
    assert PRESETS["flying_trot"].duty_factor < 0.5 < PRESETS["trot"].duty_factor
    assert PRESETS["walk"].duty_factor >= 0.75


def test_stand_keeps_all_feet_down():
    gait = GaitScheduler(PRESETS["stand"])
    for _ in range(100):
        gait.update(0.002)
        assert gait.desired_stance().all()
    assert gait.contact_schedule(10, 0.025).all()


@pytest.mark.parametrize("name", ["walk", "trot", "flying_trot"])
def test_stance_fraction_equals_duty_factor(name):
    params = PRESETS[name]
    gait = GaitScheduler(params)
    dt = 0.001
    stance = []
    for _ in range(round(3.0 / params.stepping_frequency_hz / dt)):  # three cycles
        gait.update(dt)
        stance.append(gait.desired_stance())
    fraction = np.mean(stance, axis=0)
    np.testing.assert_allclose(fraction, params.duty_factor, atol=0.01)


def test_trot_moves_diagonal_pairs_together():
    gait = GaitScheduler(PRESETS["trot"])
    for _ in range(500):
        gait.update(0.002)
        s = gait.desired_stance()
        assert s[0] == s[3] and s[1] == s[2]  # FR with RL, FL with RR


def test_walk_always_has_three_feet_down():
    gait = GaitScheduler(PRESETS["walk"])
    for _ in range(1000):
        gait.update(0.002)
        assert gait.desired_stance().sum() >= 3


def test_contact_schedule_matches_future_stance():
    gait = GaitScheduler(PRESETS["trot"])
    for _ in range(37):
        gait.update(0.002)
    plan = gait.contact_schedule(10, 0.025)
    future = GaitScheduler(PRESETS["trot"])
    future.global_phase = gait.global_phase
    for k in range(10):
        assert np.array_equal(plan[k], future.desired_stance())
        for _ in range(25):
            future.update(0.001)


def test_swing_progress_runs_from_zero_to_one():
    params = PRESETS["trot"]
    gait = GaitScheduler(params)
    progress = []
    for _ in range(int(1.0 / params.stepping_frequency_hz / 0.001)):
        gait.update(0.001)
        if not gait.desired_stance()[0]:
            progress.append(gait.swing_progress()[0])
    assert progress[0] < 0.02 and progress[-1] > 0.98
    assert np.all(np.diff(progress) > 0)


def _circular_step(a, b):
    return np.abs((b - a + 0.5) % 1.0 - 0.5)


def test_parameter_changes_do_not_jump_phases():
    rates = GaitTransitionRates()
    gait = GaitScheduler(PRESETS["trot"], rates)
    dt = 0.002
    for _ in range(100):
        gait.update(dt)
    max_step = (6.0 + rates.offset_cycles_per_s) * dt  # fastest frequency plus offset slew
    for target in ("walk", "flying_trot", "trot", "stand", "trot"):
        gait.set_target(PRESETS[target])
        for _ in range(1000):
            before = (gait.leg_phases.copy(), gait.swing_height, gait.base_height, gait.duty_factor)
            gait.update(dt)
            assert np.all(_circular_step(before[0], gait.leg_phases) <= max_step + 1e-12)
            assert abs(gait.swing_height - before[1]) <= rates.swing_height_m_per_s * dt + 1e-12
            assert abs(gait.base_height - before[2]) <= rates.base_height_m_per_s * dt + 1e-12
            assert abs(gait.duty_factor - before[3]) <= rates.duty_per_s * dt + 1e-12
        np.testing.assert_allclose(gait.params.as_array(), PRESETS[target].as_array(), atol=1e-9)


def test_bad_parameters_name_the_field():
    with pytest.raises(ValueError, match="duty_factor"):
        dataclasses.replace(PRESETS["trot"], duty_factor=0.05)
    with pytest.raises(ValueError, match="swing_height_m"):
        GaitParameters(2.0, 0.6, (0, 0.5, 0.5, 0), 0.5, 0.28)


def test_bad_preset_file_names_the_field(tmp_path):
    path = tmp_path / "gaits.yaml"
    path.write_text("presets:\n  stand: {stepping_frequency_hz: 0, duty_factor: 1.0, phase_offsets: [0,0,0,0],"
                    " swing_height_m: 0, base_height_m: 0.28}\n"
                    "  trot: {stepping_frequency_hz: fast, duty_factor: 0.6, phase_offsets: [0,0.5,0.5,0],"
                    " swing_height_m: 0.08, base_height_m: 0.28}\n")
    with pytest.raises(ConfigError, match=r"presets\.trot\.stepping_frequency_hz"):
        load_gait_presets(path)
