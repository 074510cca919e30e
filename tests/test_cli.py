"""`semloco walk` end to end as a user runs it."""

import json
import subprocess
import sys

SEMLOCO = [sys.executable, "-m", "semantic_locomotion.cli"]


def test_semloco_walk_writes_a_report(tmp_path):
    out = tmp_path / "walk.json"
    result = subprocess.run(SEMLOCO + ["walk", "--speed", "0.8", "--duration", "4", "--json", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["fell"] is False
    for field in ("mean_speed_mps", "speed_error_mps", "yaw_rate_error_radps", "velocity_estimate_rmse_mps",
                  "real_time_factor", "cost_of_transport"):
        assert isinstance(report[field], float), field
    assert report["mpc_solve_ms"]["p99"] > 0
    assert json.loads(result.stdout)["fell"] is False


def test_semloco_walk_ground_truth_flag(tmp_path):
    out = tmp_path / "walk.json"
    result = subprocess.run(SEMLOCO + ["walk", "--speed", "0.5", "--duration", "3", "--ground-truth-state",
                                       "--json", str(out), "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["state_estimation"] == "ground_truth"


def test_semloco_walk_rejects_unknown_gait():
    result = subprocess.run(SEMLOCO + ["walk", "--speed", "0.5", "--gait", "gallop"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--gait" in result.stderr and "gallop" in result.stderr


def test_semloco_walk_clips_excessive_speed_with_a_warning(tmp_path):
    out = tmp_path / "walk.json"
    result = subprocess.run(SEMLOCO + ["walk", "--speed", "9", "--duration", "0.5", "--json", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=120)
    assert "forward_mps" in result.stderr and "clipped" in result.stderr
    assert json.loads(out.read_text())["tracked_command"]["forward_mps"] == 2.5
