"""`semloco sweep` on a real local Ray: a killed sweep resumes without redoing finished runs, and its
merged table is the one the same runs give when walked one by one; bad input is refused.
(Dataset and demonstration sharding on Ray: tests/test_ray_sharding.py, a file of its own so that the
two pytest-xdist workers can run them side by side.)"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semantic_locomotion.sweep import RunSpec, SweepGrid, read_run
from semantic_locomotion.trail_table import POLICY_ORDER, REPORT_JSON, REPORT_PAGE, demonstrator_preferences, table
from sim.trail import load_trail
from sim.trail_run import POLICIES, TrailRunRequest, run_trail

GRID = ("--trails", "short", "--policies", "oracle", "--seeds", "0", "1")
SPECS = SweepGrid(("short",), ("oracle",), (0, 1)).runs()
RUN_TIMEOUT_S = 240


def sweep_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "semantic_locomotion.cli", "sweep", *GRID, "--out", str(out), "--quiet", *extra]


def finished_runs(runs_dir: Path) -> list[Path]:
    return sorted(p for p in runs_dir.glob("*.json"))


def kill_after_first_run(out: Path) -> Path:
    """Start the sweep on one CPU, SIGKILL it (and the Ray processes it started) as soon as the first
    run's file appears; return that file."""
    proc = subprocess.Popen(sweep_command(out, "--cpus", "1"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline and not finished_runs(out / "runs") and proc.poll() is None:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"the sweep ended before it was killed: {err.decode()[-2000:]}"
    files = finished_runs(out / "runs")
    assert len(files) == 1, files
    return files[0]


@pytest.fixture(scope="module")
def resumed_sweep(tmp_path_factory):
    """A sweep killed after its first run, then started again to the end."""
    out = tmp_path_factory.mktemp("sweep")
    started = time.perf_counter()
    first = kill_after_first_run(out)
    before = first.stat()
    restart = subprocess.run(sweep_command(out, "--cpus", "2"), capture_output=True, text=True,
                             timeout=RUN_TIMEOUT_S)
    return {"out": out, "first": first, "before": before, "restart": restart,
            "wall_s": time.perf_counter() - started}


def test_a_killed_sweep_restarts_without_redoing_finished_runs(resumed_sweep):
    out, first, restart = resumed_sweep["out"], resumed_sweep["first"], resumed_sweep["restart"]
    assert restart.returncode == 0, restart.stderr[-2000:]
    after = first.stat()
    assert (after.st_ino, after.st_mtime_ns) == (resumed_sweep["before"].st_ino, resumed_sweep["before"].st_mtime_ns)
    assert "1 of 2 runs already finished" in restart.stderr
    ran = [line.split(":")[0] for line in restart.stdout.splitlines() if line.startswith("short__")]
    assert ran == [s.run_id for s in SPECS if f"{s.run_id}.json" != first.name]
    assert {p.name for p in finished_runs(out / "runs")} == {f"{s.run_id}.json" for s in SPECS}
    assert all(read_run(out / "runs", s) is not None for s in SPECS)
    assert not list((out / "runs").glob("*.tmp"))
    print(f"kill + restart wall time {resumed_sweep['wall_s']:.1f} s")


def test_merged_table_equals_the_runs_walked_one_by_one(resumed_sweep):
    out = resumed_sweep["out"]
    merged = json.loads((out / REPORT_JSON).read_text())
    assert [(r["trail"], r["policy"], r["seed"]) for r in merged["reports"]] == [
        (s.trail, s.policy, s.seed) for s in SPECS]
    one_by_one = [run_trail(TrailRunRequest(load_trail(s.trail), s.policy, s.seed))[0] for s in SPECS]
    expected = table(one_by_one, demonstrator_preferences())
    assert table(merged["reports"], demonstrator_preferences()) == expected
    assert expected in (out / REPORT_PAGE).read_text()
    assert "| short | oracle | 2/2 | 0 |" in expected
    for sweep_report, direct in zip(merged["reports"], one_by_one):
        assert sweep_report["distance_m"] == pytest.approx(direct["distance_m"], abs=1e-9)
        assert sweep_report["per_terrain"] == json.loads(json.dumps(direct["per_terrain"]))


@pytest.mark.parametrize("args, field", [
    (["--trails", "nowhere", "--policies", "oracle", "--seeds", "0"], "--trails"),
    (["--trails", "short", "--policies", "fastest", "--seeds", "0"], "--policies"),
    (["--trails", "short", "--policies", "oracle", "--seeds", "-1"], "--seeds"),
    (["--trails", "short", "--policies", "oracle", "--seeds", "0", "--address", "127.0.0.1:1"], "--address"),
])
def test_bad_input_names_the_field_exits_2_and_writes_nothing(tmp_path, capfd, args, field):
    """In process (the exit code is main's return value; stderr is captured at the file descriptor, so
    a library's banner would show); the first case also as a separate process, as a user runs it."""
    from semantic_locomotion.cli import main

    out = tmp_path / "sweep"
    if field == "--trails":
        result = subprocess.run([sys.executable, "-m", "semantic_locomotion.cli", "sweep", *args, "--out", str(out)],
                                capture_output=True, text=True, timeout=120)
        code, err = result.returncode, result.stderr
    else:
        capfd.readouterr()
        code, err = main(["sweep", *args, "--out", str(out)]), capfd.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"semloco sweep: {field}: "), err
    assert not out.exists()


def test_run_ids_are_stable_and_cover_the_grid():
    runs = SweepGrid(("short", "demo"), ("learned", "fixed-slow"), (0, 1)).runs()
    assert len(runs) == 8 and len({r.run_id for r in runs}) == 8
    assert RunSpec("demo", "learned", 0).run_id == "demo__learned__seed0"
    # a speed-model axis: learned runs once per model (named by the file's stem), the others once
    models = SweepGrid(("demo",), ("learned", "oracle"), (0,), ("/x/semantic.pt", "/x/all.pt")).runs()
    assert [r.run_id for r in models] == ["demo__learned__seed0__model-semantic", "demo__learned__seed0__model-all",
                                          "demo__oracle__seed0"]


def test_the_sweep_knows_the_policies_run_trail_knows():
    assert POLICY_ORDER == POLICIES


def test_commands_without_ray_do_not_import_it(tmp_path):
    script = f"""
import sys
from semantic_locomotion.cli import main
assert main(["dataset", "--out", {str(tmp_path / "ds")!r}, "--trails", "1", "--frames-per-trail", "1",
             "--quiet"]) == 0
import semantic_locomotion.trail_table, sim.demo_recording, sim.trail_run
print("ray" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_a_run_made_by_other_code_is_not_a_finished_run(tmp_path):
    """Run files record the code that made them (commit and uncommitted changes); read with the
    current code's identity, a file from other code does not count as finished."""
    from semantic_locomotion.sweep import code_identity, write_run

    code = code_identity()
    assert code.startswith("git ") and len(code.split()[1]) == 40  # this checkout
    spec = SPECS[0]
    write_run(tmp_path, spec, {"distance_m": 1.0}, code="git 0000000000000000000000000000000000000000")
    assert read_run(tmp_path, spec) == {"distance_m": 1.0}  # a complete file...
    assert read_run(tmp_path, spec, code) is None  # ...but not this code's run
    write_run(tmp_path, spec, {"distance_m": 2.0}, code=code)
    assert read_run(tmp_path, spec, code) == {"distance_m": 2.0}
