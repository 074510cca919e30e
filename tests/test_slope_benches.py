"""The slope benches (`bench/slope_gait.py`, `bench/hill_limits.py`): their trails (segments, slopes,
crests and dips), their tables and target rules on hand-made run reports, and the ``fixed-medium``
skill they need from `semloco trail` / `semloco sweep`. One short real run; no bench is run."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import hill_limits as hl
import slope_gait as sg
import slope_runs as sr

from semantic_locomotion.cli import build_parser
from semantic_locomotion.sweep import SweepGrid, SweepInputError, validate_grid
from sim.trail import load_trail, trail_from_dict
from sim.trail_world import TrailGround


# ---- trails ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("slope", sg.SLOPES_DEG)
def test_slope_trail_is_flat_slope_flat_of_one_terrain(slope):
    data = sg.slope_trail("gravel", slope)
    trail = trail_from_dict(data)
    assert [(s.terrain, s.length_m, s.slope_deg) for s in trail.segments] == [
        ("gravel", 4.0, 0.0), ("gravel", 10.0, slope), ("gravel", 4.0, 0.0)]
    assert trail.length_m == 18.0
    ground = TrailGround(trail)
    try:  # the nominal surface: flat, rising (falling) 10 m x tan(slope), flat again at the new height
        rise = 10.0 * math.tan(math.radians(slope))
        h0 = ground.height_at(0.5)
        assert ground.height_at(3.9) == pytest.approx(h0)
        assert ground.height_at(9.0) - h0 == pytest.approx(5.0 * math.tan(math.radians(slope)), abs=1e-9)
        assert ground.height_at(14.5) - h0 == pytest.approx(rise, abs=1e-9)
        assert ground.height_at(17.5) - h0 == pytest.approx(rise, abs=1e-9)
    finally:
        ground.close()


def test_a_climb_is_entered_over_a_dip_and_left_over_a_crest_a_descent_the_other_way_round():
    climb = sr.slope_changes(sg.slope_trail("sand", 10.0)["segments"])
    descent = sr.slope_changes(sg.slope_trail("sand", -5.0)["segments"])
    assert [(c["at_m"], c["kind"], c["change_deg"]) for c in climb] == [(4.0, "dip", 10.0), (14.0, "crest", -10.0)]
    assert [(c["at_m"], c["kind"], c["change_deg"]) for c in descent] == [(4.0, "crest", -5.0), (14.0, "dip", 5.0)]


def test_the_grid_trails_have_unique_names_and_load_from_their_files(tmp_path):
    names = [sg.slope_trail(t, s)["name"] for t in sg.TERRAINS for s in sg.SLOPES_DEG]
    assert len(set(names)) == 16 and "slope_asphalt_p10" in names and "slope_sand_m5" in names
    path = sr.write_trail(sg.slope_trail("grass", -10.0), tmp_path)
    assert path.name == "slope_grass_m10.yaml"
    assert load_trail(path) == trail_from_dict(sg.slope_trail("grass", -10.0))
    validate_grid(SweepGrid((str(path),), ("fixed-medium",), (0,)))


def test_hill_trails_run_in_flat_then_15_m_of_slope_in_2_5_deg_steps_to_15():
    assert hl.steps_deg() == [2.5, 5.0, 7.5, 10.0, 12.5, 15.0]
    for slope in (15.0, -15.0, 2.5):
        data = hl.hill_trail(slope)
        trail = trail_from_dict(data)
        assert [(s.terrain, s.length_m, s.slope_deg) for s in trail.segments] == [
            ("asphalt", 4.0, 0.0), ("asphalt", 15.0, slope)]
        kinks = sr.slope_changes(data["segments"])
        assert [(k["at_m"], k["kind"]) for k in kinks] == [(4.0, "dip" if slope > 0 else "crest")]
    assert hl.hill_trail(-2.5)["name"] == "hill_asphalt_m2.5" and hl.hill_trail(12.5)["name"] == "hill_asphalt_p12.5"


# ---- slope_gait's table and targets -----------------------------------------------------------------


def report(trail: str, skill: str, seed: int, completed: bool = True, fell: bool = False, speed: float = 0.9) -> dict:
    return {"trail": trail, "policy": f"fixed-{skill}", "seed": seed, "completed": completed, "falls": int(fell),
            "end_reason": "completed" if completed else ("fell" if fell else "stuck"), "avg_speed_mps": speed}


def full_grid(fail: tuple[str, str, float, int] | None = None, fell: bool = True) -> tuple[list[dict], dict]:
    """Every cell of the bench, 3 seeds, all completed; ``fail`` = (skill, terrain, slope, seed) made a fall
    (or, with ``fell=False``, a run that did not complete without falling)."""
    trails = {sg.slope_trail(t, s)["name"]: (t, s) for t in sg.TERRAINS for s in sg.SLOPES_DEG}
    reports = []
    for name, (terrain, slope) in trails.items():
        for skill in sr.SKILLS:
            for seed in range(3):
                bad = fail == (skill, terrain, slope, seed)
                reports.append(report(name, skill, seed, completed=not bad, fell=bad and fell))
    return reports, trails


def expected_cells() -> list[str]:
    return [sg.cell_key(k, t, s) for k in sr.SKILLS for t in sg.TERRAINS for s in sg.SLOPES_DEG]


def verdicts(reports, trails, expected=None) -> dict[str, dict]:
    return {t["target"]: t for t in sg.check_targets(sg.summarize_cells(reports, trails), expected)}


def test_every_target_is_met_when_every_run_completes():
    reports, trails = full_grid()
    cells = sg.summarize_cells(reports, trails)
    assert len(cells) == 48
    cell = cells["slow/asphalt/+10"]
    assert (cell["runs"], cell["completed"], cell["falls"], cell["ok"]) == (3, 3, 0, True)
    assert all(t["met"] for t in verdicts(reports, trails, expected_cells()).values())


def test_a_cell_with_a_fall_fails_its_target_and_only_that_one():
    reports, trails = full_grid(fail=("slow", "sand", -10.0, 2))
    result = verdicts(reports, trails)
    slow, fast, medium = (result[name] for name, _ in sg.TARGETS)
    assert not slow["met"] and slow["failing_cells"] == ["slow/sand/-10"]
    assert fast["met"] and medium["met"]
    lines = sg.target_lines(list(result.values()))
    assert lines[0].startswith("- MISSED: slow") and "slow/sand/-10" in lines[0]
    assert lines[1].startswith("- met: fast")


def test_fast_is_held_to_rigid_terrain_up_to_5_deg_and_medium_to_all_cells():
    for failing, fast_met, medium_met in ((("fast", "gravel", -5.0, 0), False, True),
                                          (("fast", "asphalt", 10.0, 1), True, True),  # beyond +-5: not a target
                                          (("fast", "grass", 5.0, 1), True, True),  # not rigid
                                          (("medium", "sand", 10.0, 0), True, False)):
        reports, trails = full_grid(fail=failing, fell=False)  # not completed (stuck), no fall: fails too
        result = verdicts(reports, trails)
        assert result[sg.TARGETS[1][0]]["met"] is fast_met, failing
        assert result[sg.TARGETS[2][0]]["met"] is medium_met, failing


def test_a_cell_not_walked_does_not_count_as_met():
    reports, trails = full_grid()
    reports = [r for r in reports if not (r["policy"] == "fixed-slow" and r["trail"] == "slope_grass_p5")]
    result = verdicts(reports, trails, expected_cells())
    assert not result[sg.TARGETS[0][0]]["met"] and result[sg.TARGETS[0][0]]["not_walked"] == ["slow/grass/+5"]
    assert sg.check_targets({}, [])[0]["met"] is False  # nothing walked: nothing met


def test_the_table_has_a_row_per_skill_and_terrain_and_a_column_per_slope(tmp_path):
    reports, trails = full_grid(fail=("medium", "grass", 5.0, 0))
    cells = sg.summarize_cells(reports, trails)
    text = sg.table(cells, list(sr.SKILLS), sg.TERRAINS, sg.SLOPES_DEG)
    lines = text.splitlines()
    assert lines[0] == "| skill | terrain | -10° | -5° | +5° | +10° |" and len(lines) == 2 + 12
    assert "| medium 1.0 m/s | grass | 3/3, 0 fell, 0.90 m/s | 3/3, 0 fell, 0.90 m/s | 2/3, 1 fell, 0.90 m/s |" in text
    sg.plot(cells, list(sr.SKILLS), sg.TERRAINS, sg.SLOPES_DEG, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000


# ---- hill_limits' rule --------------------------------------------------------------------------------


def test_the_hill_limit_stops_at_the_first_failing_step():
    steps = hl.steps_deg()
    assert hl.limit_deg({2.5: True, 5.0: True, 7.5: False, 10.0: True, 12.5: True, 15.0: True}, steps) == 5.0
    assert hl.limit_deg(dict.fromkeys(steps, True), steps) == 15.0
    assert hl.limit_deg({2.5: False, 5.0: True}, steps) == 0.0
    assert hl.limit_deg({2.5: True, 5.0: True}, steps) == 5.0  # 7.5 not walked: not passed


def test_a_step_is_walked_only_when_every_seed_completes_without_a_fall():
    ok = [report("t", "slow", s) for s in range(3)]
    assert hl.step_passes(ok, range(3))
    assert not hl.step_passes(ok[:2], range(3))  # a seed missing
    assert not hl.step_passes([*ok[:2], report("t", "slow", 2, completed=False, fell=True)], range(3))
    assert not hl.step_passes([*ok[:2], report("t", "slow", 2, completed=False)], range(3))  # stuck


def test_hill_limits_from_run_reports_and_their_targets():
    trails = {hl.hill_trail(d * m)["name"]: d * m for m in hl.steps_deg() for d in (1.0, -1.0)}
    name = {v: k for k, v in trails.items()}
    reports = []
    for skill, up_fail, down_fail in (("slow", None, 15.0), ("fast", 12.5, 10.0)):
        for sign, fail in ((1.0, up_fail), (-1.0, down_fail)):
            for m in hl.steps_deg():
                for seed in range(3):
                    bad = fail is not None and m >= fail and seed == 1
                    reports.append(report(name[sign * m], skill, seed, completed=not bad, fell=bad))
    limits = hl.summarize(reports, trails, ["slow", "fast"], range(3), hl.steps_deg())
    assert limits["slow"]["up"]["limit_deg"] == 15.0 and limits["slow"]["down"]["limit_deg"] == 12.5
    assert limits["fast"]["up"]["limit_deg"] == 10.0 and limits["fast"]["down"]["limit_deg"] == 7.5
    assert limits["fast"]["down"]["steps"]["-10"] == {
        "slope_deg": -10.0, "runs": 3, "completed": 2, "falls": 1, "achieved_speed_mps": pytest.approx(0.9),
        "end_reasons": ["completed", "completed", "fell"], "passes": False}
    targets = {t["skill"]: t for t in hl.check_targets(limits)}
    assert not targets["slow"]["met"] and not targets["fast"]["met"]
    assert hl.target_lines([targets["slow"]]) == ["- MISSED: slow walks +-15 deg (up 15, down 12.5 deg)"]
    assert "| slow 0.5 m/s | +15° | −12.5° |" in hl.table(limits)


# ---- fixed-medium -----------------------------------------------------------------------------------


def test_fixed_medium_is_a_policy_of_the_cli_the_sweep_and_run_trail():
    from locomotion.gait_selector import load_gait_selector
    from sim.trail_run import FIXED_SKILLS, POLICIES, TrailRunRequest

    assert FIXED_SKILLS["fixed-medium"] == (1.0, "medium")
    assert {p: v for p, (v, _) in FIXED_SKILLS.items()} == {sr.policy_of(k): v for k, v in sr.SKILLS.items()}
    assert load_gait_selector().select(1.0) == load_gait_selector().select(FIXED_SKILLS["fixed-medium"][0])
    assert "fixed-medium" in POLICIES
    TrailRunRequest(load_trail("short"), "fixed-medium")
    validate_grid(SweepGrid(("short",), ("fixed-slow", "fixed-medium", "fixed-fast"), (0,)))
    with pytest.raises(SweepInputError, match="--policies"):
        validate_grid(SweepGrid(("short",), ("fixed-mediums",), (0,)))
    args = build_parser().parse_args(["trail", "--trail", "short", "--policy", "fixed-medium"])
    assert args.policy == "fixed-medium"
    args = build_parser().parse_args(["sweep", "--trails", "short", "--policies", "fixed-medium", "--seeds", "0"])
    assert args.policies == ["fixed-medium"]


def test_fixed_medium_walks_a_short_climb_at_about_1_mps():
    from sim.trail_run import TrailRunRequest, run_trail

    trail = trail_from_dict({"name": "medium_climb", "seed": 100, "segments": [
        {"terrain": "asphalt", "length_m": 2.0}, {"terrain": "asphalt", "length_m": 2.0, "slope_deg": 5.0}]})
    report, samples = run_trail(TrailRunRequest(trail, "fixed-medium", 0))
    assert report["completed"] and report["falls"] == 0 and report["policy"] == "fixed-medium"
    assert {s.commanded_mps for s in samples} == {1.0}
    assert 0.5 < report["avg_speed_mps"] < 1.2
    assert np.isclose(samples[-1].swing_height_m, 0.09)  # the medium preset's swing height
