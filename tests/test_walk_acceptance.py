"""Acceptance of the locomotion core: the A1 walks in PyBullet under convex MPC (issue 2, items 1-5).

Each case is a real closed-loop simulation with the shipped configuration and the Kalman state
estimator (sensor noise on), measured against the simulator's ground truth. The cases are the rows
of `bench/walk_acceptance.py` (the README's walk table), imported from it, and each is run once and
shared by the tests that check it.
"""

import sys
from pathlib import Path

import pytest

from sim.walk import run_walk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from walk_acceptance import CASES


@pytest.fixture(scope="module")
def walked():
    """walked(case) -> the report of that row's run (run on first use, then shared)."""
    reports: dict[str, dict] = {}

    def get(case: str) -> dict:
        if case not in reports:
            reports[case] = run_walk(CASES[case])
            assert reports[case]["state_estimation"] == "kalman"
        return reports[case]

    return get


def test_every_table_row_is_a_case_here():
    assert set(CASES) == {"trot 0.5 m/s", "trot 1.0 m/s", "trot 1.5 m/s", "flying trot 2.0 m/s",
                          "turn 0.5 m/s, 0.5 rad/s", "sideways 0.3 m/s", "push 30 N x 0.2 s at 1.0 m/s",
                          "walk (crawl) 0.3 m/s"}


@pytest.mark.parametrize("speed", ["0.5", "1.0", "1.5"])
def test_trot_tracks_speed_for_20_s(walked, speed):
    report = walked(f"trot {speed} m/s")
    assert report["command"]["gait"] == "trot" and report["duration_s"] == 20.0
    assert not report["fell"]
    assert report["walked_s"] > 19.9
    assert report["speed_error_mps"] <= 0.1, report["mean_speed_mps"]


def test_flying_trot_sustains_2_mps(walked):
    report = walked("flying trot 2.0 m/s")
    assert not report["fell"]
    assert report["walked_s"] > 14.9
    assert report["mean_speed_mps"] >= 1.9, report["mean_speed_mps"]


def test_turning_tracks_yaw_rate(walked):
    report = walked("turn 0.5 m/s, 0.5 rad/s")
    assert not report["fell"]
    assert report["yaw_rate_error_radps"] <= 0.1
    assert report["speed_error_mps"] <= 0.1


def test_sideways_walking_tracks_lateral_speed(walked):
    report = walked("sideways 0.3 m/s")
    assert not report["fell"]
    assert report["lateral_speed_error_mps"] <= 0.1
    assert abs(report["mean_speed_mps"]) <= 0.1


def test_recovers_from_lateral_push(walked):
    report = walked("push 30 N x 0.2 s at 1.0 m/s")
    assert not report["fell"]
    assert report["walked_s"] > 9.9
    assert report["speed_error_mps"] <= 0.1


def test_crawl_tracks_speed(walked):
    report = walked("walk (crawl) 0.3 m/s")
    assert report["command"]["gait"] == "walk"
    assert not report["fell"]
    assert report["walked_s"] > 11.9
    assert report["speed_error_mps"] <= 0.1, report["mean_speed_mps"]


def test_velocity_estimate_while_trotting_at_1_mps(walked):
    report = walked("trot 1.0 m/s")
    assert report["velocity_estimate_rmse_mps"] <= 0.1


def test_walk_report_has_the_documented_fields(walked):
    report = walked("walk (crawl) 0.3 m/s")
    for field in ("fell", "mean_speed_mps", "speed_error_mps", "yaw_rate_error_radps",
                  "velocity_estimate_rmse_mps", "real_time_factor", "cost_of_transport"):
        assert field in report
    assert set(report["mpc_solve_ms"]) >= {"p50", "p99"}
    assert report["mpc_solve_ms"]["count"] > 100
    assert not report["fell"] and report["cost_of_transport"] > 0
