"""`semloco trail`: the closed loop on short trails, its report and plot; the obstacle stop."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from semantic_locomotion.trail_table import segment_speed_errors
from sim.trail import Trail, TrailSegment, load_trail
from sim.trail_report import REQUIRED_FIELDS, TrailSample, per_segment_speeds, per_terrain_speeds
from sim.trail_run import TrailRunRequest, run_trail

ROOT = Path(__file__).parents[1]


def test_per_terrain_speeds_from_samples():
    samples = [TrailSample(t * 0.5, d, 0.0, terrain, cmd, 0.0, 0.1, 2.0) for t, (d, terrain, cmd) in enumerate(
        [(0.0, "asphalt", 1.4), (0.7, "asphalt", 1.4), (1.4, "deep_grass", 0.5), (1.55, "deep_grass", 0.5),
         (1.7, "deep_grass", 0.5)])]
    table = per_terrain_speeds(samples)
    assert table["asphalt"] == pytest.approx({"mean_speed_mps": 1.4, "mean_command_mps": 1.4, "distance_m": 1.4,
                                              "duration_s": 1.0})
    assert table["deep_grass"]["mean_speed_mps"] == pytest.approx(0.3)
    assert table["deep_grass"]["duration_s"] == pytest.approx(1.0)


def test_per_segment_speeds_and_their_errors_against_a_reference():
    """Two segments of one terrain are kept apart (a flat run-up, then a climb); a segment the run
    never reached has no speed and is left out of the errors against another run."""
    trail = Trail("t", 0, (TrailSegment("asphalt", 1.0), TrailSegment("asphalt", 1.0, 6.0),
                           TrailSegment("gravel", 5.0, -4.0)))
    samples = [TrailSample(t * 0.5, d, 0.0, "asphalt", cmd, 0.0, 0.1, 2.0) for t, (d, cmd) in enumerate(
        [(0.0, 1.4), (0.7, 1.4), (1.4, 1.0), (1.6, 1.0), (1.8, 1.0)])]
    rows = per_segment_speeds(samples, trail)
    assert [r["slope_deg"] for r in rows] == [0.0, 6.0, -4.0] and [r["start_m"] for r in rows] == [0.0, 1.0, 2.0]
    assert rows[0]["mean_speed_mps"] == pytest.approx(1.4) and rows[0]["mean_command_mps"] == pytest.approx(1.4)
    assert rows[1]["mean_speed_mps"] == pytest.approx(0.4) and rows[1]["mean_command_mps"] == pytest.approx(1.0)
    assert rows[2]["duration_s"] == 0.0 and rows[2]["mean_speed_mps"] is None
    faster = [dict(r, mean_command_mps=None if r["mean_command_mps"] is None else r["mean_command_mps"] + 0.2)
              for r in rows]
    faster[2]["mean_command_mps"] = 0.8  # reached by the other run only: not compared
    errors = segment_speed_errors({"trail": "t", "per_segment": faster}, {"trail": "t", "per_segment": rows})
    assert errors["segments"] == 2 and errors["mean_mps"] == pytest.approx(0.2)
    assert errors["sloped_segments"] == 1 and errors["sloped_mean_mps"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="different trails"):
        segment_speed_errors({"trail": "t", "per_segment": rows}, {"trail": "u", "per_segment": rows})


def test_cli_oracle_writes_report_and_plot(tmp_path):
    out = subprocess.run([sys.executable, "-m", "semantic_locomotion.cli", "trail", "--trail", "short", "--policy",
                          "oracle", "--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "rep"), "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    for field in REQUIRED_FIELDS:
        assert field in report, field
    assert report["completed"] is True and report["falls"] == 0
    assert set(report["per_terrain"]) == {"asphalt", "deep_grass", "gravel"}
    for row in report["per_terrain"].values():
        assert row["mean_speed_mps"] > 0.15 and row["distance_m"] > 3.0
    per_terrain = report["per_terrain"]
    assert per_terrain["asphalt"]["mean_command_mps"] > per_terrain["deep_grass"]["mean_command_mps"]
    assert 0.1 < report["cost_of_transport"] < 5.0 and report["real_time_factor"] > 0
    assert report["distance_m"] == pytest.approx(sum(r["distance_m"] for r in report["per_terrain"].values()))
    assert report["farthest_m"] >= report["distance_m"]
    assert (tmp_path / "rep" / "short_oracle_seed0.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "rep" / "short_oracle_seed0.json").read_text()) == report


def test_learned_policy_walks_the_short_trail_with_the_shipped_models():
    report, _samples = run_trail(TrailRunRequest(load_trail("short"), "learned", seed=1))
    assert report["completed"], report
    commands = report["per_terrain"]
    # it chose on its own (from the camera) to walk slower in deep grass than on asphalt
    assert commands["deep_grass"]["mean_command_mps"] < commands["asphalt"]["mean_command_mps"] - 0.25
    assert report["perception_frames"] > 20 and report["speed_policy_sha256"]


def test_learned_policy_stops_short_of_an_obstacle():
    trail = load_trail("obstacle")
    boulder = trail.obstacles[0].at_m
    report, samples = run_trail(TrailRunRequest(trail, "learned", seed=0))
    assert report["end_reason"] == "stopped_for_obstacle", report
    assert not report["completed"] and report["falls"] == 0
    final = samples[-1]
    assert boulder - 1.6 < final.distance_m < boulder - 0.4  # trunk centre; the A1's nose is ~0.3 m ahead
    assert abs(final.achieved_mps) < 0.1 and final.commanded_mps < 0.05
    assert max(s.distance_m for s in samples) < boulder - 0.4  # nor closer on the way


def test_unknown_policy_and_trail_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="policy: expected one of"):
        TrailRunRequest(load_trail("short"), "reckless")
    out = subprocess.run([sys.executable, "-m", "semantic_locomotion.cli", "trail", "--trail", "nowhere"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "unknown trail 'nowhere'" in out.stderr
