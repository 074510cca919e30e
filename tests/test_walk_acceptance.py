"""Acceptance of the locomotion core: the A1 walks in PyBullet under convex MPC (issue 2, items 1-5).

Each case is a real closed-loop simulation with the shipped configuration and the Kalman state
estimator (sensor noise on), measured against the simulator's ground truth.
"""

import pytest

from sim.walk import Push, WalkRequest, run_walk


@pytest.mark.parametrize("speed", [0.5, 1.0, 1.5])
def test_trot_tracks_speed_for_20_s(speed):
    report = run_walk(WalkRequest(speed_mps=speed, gait="trot", duration_s=20.0))
    assert not report["fell"]
    assert report["walked_s"] > 19.9
    assert report["speed_error_mps"] <= 0.1, report["mean_speed_mps"]


def test_flying_trot_sustains_2_mps():
    report = run_walk(WalkRequest(speed_mps=2.0, gait="flying_trot", duration_s=15.0))
    assert not report["fell"]
    assert report["mean_speed_mps"] >= 1.9, report["mean_speed_mps"]


def test_turning_tracks_yaw_rate():
    report = run_walk(WalkRequest(speed_mps=0.5, yaw_rate_radps=0.5, gait="trot", duration_s=12.0))
    assert not report["fell"]
    assert report["yaw_rate_error_radps"] <= 0.1
    assert report["speed_error_mps"] <= 0.1


def test_sideways_walking_tracks_lateral_speed():
    report = run_walk(WalkRequest(speed_mps=0.0, lateral_mps=0.3, gait="trot", duration_s=12.0))
    assert not report["fell"]
    assert report["lateral_speed_error_mps"] <= 0.1
    assert abs(report["mean_speed_mps"]) <= 0.1


def test_recovers_from_lateral_push():
    push = Push(at_s=5.0, force_n=(0.0, 30.0, 0.0), duration_s=0.2)
    report = run_walk(WalkRequest(speed_mps=1.0, gait="trot", duration_s=10.0, push=push))
    assert not report["fell"]
    assert report["walked_s"] > 9.9
    assert report["speed_error_mps"] <= 0.1


def test_velocity_estimate_while_trotting_at_1_mps():
    report = run_walk(WalkRequest(speed_mps=1.0, gait="trot", duration_s=12.0, seed=1))
    assert report["state_estimation"] == "kalman"
    assert report["velocity_estimate_rmse_mps"] <= 0.1


def test_walk_report_has_the_documented_fields():
    report = run_walk(WalkRequest(speed_mps=0.5, gait="walk", duration_s=4.0))
    for field in ("fell", "mean_speed_mps", "speed_error_mps", "yaw_rate_error_radps",
                  "velocity_estimate_rmse_mps", "real_time_factor", "cost_of_transport"):
        assert field in report
    assert set(report["mpc_solve_ms"]) >= {"p50", "p99"}
    assert report["mpc_solve_ms"]["count"] > 100
    assert not report["fell"] and report["cost_of_transport"] > 0
