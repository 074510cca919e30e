"""Shared pieces of the benches that compare the current code with a reference commit.

``--baseline REF`` benches (walk_real_time_factor, mpc_solve_time, trail_real_time_factor) run the
same `semloco` command on two source trees, in alternation (new, ref, new, ref, ...), so that both
see the same machine load:

- ``new``: this checkout (its working tree, uncommitted edits included; they are listed).
- ``ref``: a detached ``git worktree`` of REF in a temporary folder, removed at the end.

Each run is a child process of the venv's python with the tree first on the path (cwd = tree,
PYTHONPATH = tree): the package is installed editable from this checkout, so without that the
reference run would import the new code. The child writes, at exit, the file of every project
module it loaded; ``run_semloco`` checks that each one lies inside the tree it was meant to run and
raises if not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("locomotion", "sim", "semantic_locomotion", "robot_perception")

# Run inside the child: record the project modules it loaded (and the loop rates its own config
# loaders give) at exit, then run `semloco` as `python -m semantic_locomotion.cli` would.
_CHILD = r"""
import atexit, json, os, runpy, sys

def _record():
    packages = {packages!r}
    modules = {{}}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in packages:
            modules[name] = getattr(module, "__file__", None) or list(getattr(module, "__path__", []))
    rates = {{}}
    try:
        from sim.world import load_sim_config
        rates["physics_rate_hz"] = float(load_sim_config().physics_rate_hz)
    except Exception as exc:
        rates["physics_rate_error"] = repr(exc)
    try:
        from locomotion.controller import load_controller_config
        config = load_controller_config()
        rates["control_rate_hz"] = float(config.control_rate_hz)
        rates["mpc_rate_hz"] = 1.0 / float(config.mpc.solve_period_s)
    except Exception as exc:
        rates["control_rate_error"] = repr(exc)
    with open(os.environ["SEMLOCO_BENCH_RECORD"], "w") as f:
        json.dump({{"modules": modules, "rates": rates, "sys_path": sys.path[:3]}}, f)

atexit.register(_record)
sys.argv = ["semloco", *{args!r}]
runpy.run_module("semantic_locomotion.cli", run_name="__main__", alter_sys=True)
"""


@dataclasses.dataclass
class Tree:
    label: str  # "new" or "ref"
    root: Path
    commit: str
    requested: str  # what was asked for: "working tree" or the REF given
    uncommitted: list[str]  # tracked files with uncommitted edits (new tree only)

    def describe(self) -> dict:
        return {"commit": self.commit, "requested": self.requested, "uncommitted_files": self.uncommitted,
                "root": "." if self.root == REPO else f"git worktree of {self.requested}"}


def _git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def current_tree() -> Tree:
    changed = _git("diff", "--name-only", "HEAD").splitlines()
    return Tree("new", REPO, _git("rev-parse", "HEAD"), "working tree", changed)


@contextlib.contextmanager
def reference_tree(ref: str) -> Iterator[Tree]:
    """A detached worktree of ``ref`` in a temporary folder, removed (with its git record) on exit."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    folder = Path(tempfile.mkdtemp(prefix="semloco_ref_"))
    _git("worktree", "add", "--detach", str(folder), commit)
    try:
        yield Tree("ref", folder, commit, ref, [])
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=REPO, capture_output=True)
        subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)


@contextlib.contextmanager
def trees(baseline: str | None) -> Iterator[list[Tree]]:
    """[new] or [new, ref]: the trees a bench alternates over."""
    new = current_tree()
    if baseline is None:
        yield [new]
        return
    with reference_tree(baseline) as ref:
        yield [new, ref]


@dataclasses.dataclass
class ChildRun:
    returncode: int
    wall_s: float
    load_before: float  # 1-minute load average when the run started
    modules_checked: int
    rates: dict
    stderr_tail: str


def run_semloco(tree: Tree, args: list[str], timeout_s: float | None = None,
                must_load: tuple[str, ...] = ("locomotion", "sim")) -> ChildRun:
    """Run ``semloco ARGS`` on ``tree`` in a child process; raise unless every project module the
    child imported (and each of ``must_load``) came from ``tree.root``."""
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "record.json"
        env = dict(os.environ, PYTHONPATH=str(tree.root), SEMLOCO_BENCH_RECORD=str(record))
        code = _CHILD.format(packages=PROJECT_PACKAGES, args=list(args))
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=tree.root, env=env, capture_output=True,
                              text=True, timeout=timeout_s)
        wall = time.perf_counter() - start
        if not record.is_file():
            raise RuntimeError(f"{tree.label}: semloco {shlex.join(args)} exited {proc.returncode} without its "
                               f"module record:\n{proc.stderr[-3000:]}")
        seen = json.loads(record.read_text())
    check_modules(tree, seen["modules"], must_load)
    return ChildRun(proc.returncode, wall, load, len(seen["modules"]), seen["rates"], proc.stderr[-2000:])


def check_modules(tree: Tree, modules: dict, must_load: tuple[str, ...]) -> None:
    root = tree.root.resolve()
    missing = [name for name in must_load if name not in modules]
    if missing:
        raise RuntimeError(f"{tree.label}: the child never imported {', '.join(missing)}")
    stray = {}
    for name, where in modules.items():
        files = where if isinstance(where, list) else [where]
        if not files or not all(Path(f).resolve().is_relative_to(root) for f in files):
            stray[name] = where
    if stray:
        raise RuntimeError(f"{tree.label}: modules imported from outside {root}: {stray}")


def alternate(tree_list: list[Tree], rounds: int, cases: list, run: Callable[[Tree, object, int], dict]) -> list[dict]:
    """Round by round, case by case, each tree in turn (new, ref, new, ref, ...); ``run(tree, case,
    round)`` returns one row, which is printed and kept with its tree and round."""
    rows = []
    for round_ in range(1, rounds + 1):
        for case in cases:
            for tree in tree_list:
                row = {"round": round_, "tree": tree.label, **run(tree, case, round_)}
                rows.append(row)
                print("  " + "  ".join(f"{k} {_fmt(v)}" for k, v in row.items()), flush=True)
    return rows


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def median_of(rows: list[dict], key: str, **match) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None and all(r.get(k) == v for k, v in match.items())]
    return float(statistics.median(values)) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def verdict(value: float | None, op: str, target: float) -> dict:
    """{"value", "target", "met"} for value >= or <= target (not met when there is no value)."""
    met = value is not None and (value >= target if op == ">=" else value <= target)
    return {"value": value, "target": f"{op} {target:g}", "met": bool(met)}


def yaml_value(tree: Tree, relative: str, *keys: str):
    """A value from one of the tree's YAML files (None if absent): what the tree's config says."""
    data = yaml.safe_load((tree.root / relative).read_text()) or {}
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    return shlex.join(["python", str(shown), *sys.argv[1:]])


def write_json(path: str | Path, bench: str, tree_list: list[Tree], body: dict) -> Path:
    """The bench's JSON: what ran (command, commits, machine), then the bench's own figures."""
    path = Path(path)
    if not path.is_absolute():
        path = REPO / path
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "bench": bench,
        "command": command_line(),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "order": "alternating: each round runs every case on " + ", then ".join(t.label for t in tree_list),
        "trees": {t.label: t.describe() for t in tree_list},
        **body,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def print_verdicts(verdicts: dict) -> None:
    for name, v in verdicts.items():
        shown = "n/a" if v["value"] is None else _fmt(v["value"])
        print(f"  {name}: {shown} (target {v['target']}): {'met' if v['met'] else 'MISSED'}")
