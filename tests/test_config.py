"""Configuration files load into typed dataclasses; bad values are rejected by field name."""

import pytest

from locomotion.config import ConfigError, config_dir
from locomotion.controller import ControllerConfig, load_controller_config
from sim.world import load_sim_config


def test_shipped_configs_load():
    config = load_controller_config()
    assert isinstance(config, ControllerConfig)
    assert config.mpc.horizon_steps >= 10 and 0.025 <= config.mpc.dt_s <= 0.03
    assert load_sim_config().physics_rate_hz >= 500


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("horizon_steps: 10", "horizon_steps: ten", "mpc.horizon_steps"),
        ("horizon_steps: 10", "horizon_steps: 0", "horizon_steps"),
        ("friction_coefficient: 0.45", "friction_coeff: 0.45", "mpc.friction_coeff: unknown field"),
        ("kp: [100.0, 100.0, 100.0]", "kp: [100.0, 100.0]", "swing.kp"),
        ("control_rate_hz: 500.0", "control_rate_hz: 50.0", "control_rate_hz"),
        ("use_ground_truth_state: false", "use_ground_truth_state: 0", "use_ground_truth_state"),
    ],
)
def test_bad_controller_values_name_the_field(tmp_path, old, new, field):
    text = (config_dir() / "controller.yaml").read_text()
    assert old in text
    path = tmp_path / "controller.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_controller_config(path)


def test_missing_and_malformed_files_are_reported(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_controller_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mpc: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_controller_config(bad)
    low = tmp_path / "sim.yaml"
    low.write_text("physics_rate_hz: 240\n")
    with pytest.raises(ConfigError, match="physics_rate_hz"):
        load_sim_config(low)


def test_unsigned_yaml_exponent_gets_a_hint(tmp_path):
    text = (config_dir() / "controller.yaml").read_text()
    path = tmp_path / "controller.yaml"
    path.write_text(text.replace("force_weight: 1.0e-5", "force_weight: 1.0e5"))
    with pytest.raises(ConfigError, match=r"mpc\.force_weight.*exponents without a sign"):
        load_controller_config(path)
