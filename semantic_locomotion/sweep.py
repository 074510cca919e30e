"""`semloco sweep`: a grid of trail traversals (trails x policies x seeds) as Ray tasks, one CPU each.

    semloco sweep --trails short demo --policies learned fixed-slow --seeds 0 1 [--out DIR]
                  [--cpus N | --address HOST:PORT] [--plots DIR]

Ray starts on this machine (``--cpus``, default every core) unless ``--address`` or ``RAY_ADDRESS``
names a cluster; the tasks and the driver are the same either way. Each run is
``sim.trail_run.run_trail``; its report comes back to the driver, which writes it as
``DIR/runs/<run id>.json`` (tmp file, then rename), so a run whose file is there is finished and is
skipped when the sweep is started again. When every run of the grid is finished the driver writes
the merged report and its table (``DIR/trail_policies.json`` and ``.md``, the format of
`bench/trail_policies.py`, made by `semantic_locomotion.trail_table`).

A run is a ``RunSpec``; its id (``demo__learned__seed0``) is made from its fields, so an axis added
later (a fault file, a robot) is one more field with a default, and the runs at the default keep
their ids and files. Dataset and demonstration generation shard the same way: ``ray_ordered_map``
runs their per-trail work as tasks and hands the results back in order (`shard_dataset_trails`,
`ray_episode_recorder`).

Ray is imported only inside the functions that need it: `semloco trail` and the other commands
never load it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from semantic_locomotion.trail_table import POLICY_ORDER, REPORT_JSON, REPORT_PAGE, PolicyPage, atomic_write_text, \
    write_policy_report

RUN_FILE_FORMAT = "semantic_locomotion sweep run v1"
ADDRESS_TIMEOUT_S = 5.0
CANCEL_WAIT_S = 30.0
NOMINAL_SPEED_MPS = {"fixed-slow": 0.5}  # to start the longest runs first; others about 1 m/s
PLOTTED_POLICY = "learned"  # plots: every learned run and every seed-0 run


class SweepInputError(ValueError):
    """Bad input to a sweep; the message starts with the field (``--trails: ...``)."""


class SweepFailed(RuntimeError):
    """Some runs raised; the others are written and the sweep can be started again."""


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One trail traversal of the grid. ``metadata["id"]`` formats the field in the run id; a field
    added later must have a default, and is left out of the id of runs at that default."""

    trail: str = dataclasses.field(metadata={"id": "{}"})
    policy: str = dataclasses.field(metadata={"id": "{}"})
    seed: int = dataclasses.field(metadata={"id": "seed{}"})
    # the learned policy's checkpoint ("": the shipped one); named in the id by its file's stem
    speed_model: str = dataclasses.field(default="", metadata={"id": "model-{}", "stem": True})

    @property
    def run_id(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.default is dataclasses.MISSING or value != f.default:
                shown = Path(value).stem if f.metadata.get("stem") else value
                parts.append(re.sub(r"[^A-Za-z0-9._-]", "-", f.metadata["id"].format(shown)))
        return "__".join(parts)  # a file name: a trail given as a path has its separators replaced


# RunSpec field -> SweepGrid axis
GRID_AXIS_OF_FIELD = {"trail": "trails", "policy": "policies", "seed": "seeds", "speed_model": "speed_models"}


@dataclasses.dataclass(frozen=True)
class SweepGrid:
    """The axes of a sweep, one tuple per ``RunSpec`` field of the same name; runs are their product."""

    trails: tuple[str, ...]
    policies: tuple[str, ...]
    seeds: tuple[int, ...]
    speed_models: tuple[str, ...] = ("",)  # only the learned policy runs once per model

    def runs(self) -> list[RunSpec]:
        names = [f.name for f in dataclasses.fields(RunSpec)]
        values = [tuple(dict.fromkeys(getattr(self, GRID_AXIS_OF_FIELD[n]))) for n in names]
        specs = [RunSpec(**dict(zip(names, combo))) for combo in itertools.product(*values)]
        specs = [s if s.policy == "learned" else dataclasses.replace(s, speed_model="") for s in specs]
        return list(dict.fromkeys(specs))


@dataclasses.dataclass
class RunOutcome:
    report: dict
    samples: list | None  # the TrailSamples, when the driver is to plot the run


def validate_grid(grid: SweepGrid) -> None:
    """Raise ``SweepInputError`` naming the first bad field: unknown trail or policy, negative seed.
    (Policies are checked against the table's list, the same as sim.trail_run's: importing that
    module would load pybullet, whose banner would stand before the error line.)"""
    from locomotion.config import ConfigError
    from sim.trail import load_trail

    for name in grid.trails:
        try:
            load_trail(name)
        except (ConfigError, OSError) as exc:
            raise SweepInputError(f"--trails: {exc}") from exc
    for policy in grid.policies:
        if policy not in POLICY_ORDER:
            raise SweepInputError(f"--policies: unknown policy {policy!r} (known: {', '.join(POLICY_ORDER)})")
    for seed in grid.seeds:
        if seed < 0:
            raise SweepInputError(f"--seeds: must be >= 0, got {seed}")
    for model in grid.speed_models:
        if model and not Path(model).is_file():
            raise SweepInputError(f"--speed-models: {model} does not exist")


def should_plot(spec: RunSpec) -> bool:
    return spec.policy == PLOTTED_POLICY or spec.seed == 0


def execute_run(spec: RunSpec, keep_samples: bool) -> RunOutcome:
    """The task: walk one run of the grid on one CPU (torch limited to one thread)."""
    import torch

    from sim.trail import load_trail
    from sim.trail_run import TrailRunRequest, run_trail

    torch.set_num_threads(1)
    start = time.perf_counter()
    speed_model = Path(spec.speed_model) if spec.speed_model else None
    report, samples = run_trail(TrailRunRequest(load_trail(spec.trail), spec.policy, spec.seed,
                                                speed_checkpoint=speed_model))
    report["wall_s"] = time.perf_counter() - start
    return RunOutcome(report, samples if keep_samples else None)


# ---- the run files --------------------------------------------------------------------------------


def run_path(runs_dir: Path, spec: RunSpec) -> Path:
    return runs_dir / f"{spec.run_id}.json"


CODE_PATHS = ("locomotion", "robot_perception", "sim", "semantic_locomotion", "config", "models")


def code_identity() -> str:
    """What made a run: the git commit plus a hash of any uncommitted change to the code, configuration
    and models (a checkout), or the installed package's version. A run file made by other code is
    not a finished run of this sweep."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
        diff = subprocess.run(["git", "-C", str(root), "diff", "HEAD", "--binary", "--", *CODE_PATHS],
                              capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"semantic_locomotion {version('semantic_locomotion')}"
        except PackageNotFoundError:
            return "unknown"
    return f"git {head}" + (f" + uncommitted {hashlib.sha256(diff).hexdigest()[:16]}" if diff else "")


def write_run(runs_dir: Path, spec: RunSpec, report: dict, code: str) -> None:
    record = {"format": RUN_FILE_FORMAT, "run_id": spec.run_id, "spec": dataclasses.asdict(spec), "code": code,
              "report": report}
    atomic_write_text(run_path(runs_dir, spec), json.dumps(record, indent=2) + "\n")


def read_run(runs_dir: Path, spec: RunSpec, code: str | None = None) -> dict | None:
    """The report of ``spec`` if its file is there and complete (right format and spec, and made by
    ``code`` when given), else None."""
    path = run_path(runs_dir, spec)
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    complete = (isinstance(record, dict) and record.get("format") == RUN_FILE_FORMAT
                and record.get("spec") == dataclasses.asdict(spec) and isinstance(record.get("report"), dict)
                and (code is None or record.get("code") == code))
    return record["report"] if complete else None


def run_line(spec: RunSpec, report: dict) -> str:
    return (f"{spec.run_id}: {report['end_reason']} {report['distance_m']:.1f} m {report['avg_speed_mps']:.2f} m/s "
            f"({report['wall_s'] / 60:.1f} min)")


def expected_cost(spec: RunSpec, trail_lengths: dict[str, float]) -> float:
    return trail_lengths[spec.trail] / NOMINAL_SPEED_MPS.get(spec.policy, 1.0)


# ---- Ray ------------------------------------------------------------------------------------------


def check_address(address: str, field: str) -> None:
    """Fail fast (``SweepInputError``) on an address that is malformed or where nothing listens:
    ray.init would otherwise retry for minutes."""
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise SweepInputError(f"{field}: expected HOST:PORT, ray://HOST:PORT or auto, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=ADDRESS_TIMEOUT_S).close()
    except OSError as exc:
        raise SweepInputError(f"{field}: cannot reach {hostport}: {exc}") from exc


def connect_ray(address: str | None, cpus: int | None) -> None:
    """``ray.init`` on this machine (``cpus`` CPUs, default all), or on the cluster at ``address``
    (or ``RAY_ADDRESS``); quiet: no dashboard, no worker output, only Ray's errors."""
    import ray

    field = "--address"
    if address is None and os.environ.get("RAY_ADDRESS"):
        address, field = os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address is None:
        if cpus is not None and cpus < 1:
            raise SweepInputError(f"--cpus: must be at least 1, got {cpus}")
        ray.init(num_cpus=cpus or os.cpu_count(), include_dashboard=False, **quiet)
        return
    if cpus is not None:
        raise SweepInputError(f"--cpus: only for a local Ray; the cluster at {field} has its own")
    check_address(address, field)
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise SweepInputError(f"{field}: cannot connect to {address!r}: {exc}") from exc


class RaySession:
    """``with RaySession(address, cpus):`` connected to Ray for the block, shut down after."""

    def __init__(self, address: str | None = None, cpus: int | None = None):
        self.address, self.cpus = address, cpus

    def __enter__(self) -> RaySession:
        connect_ray(self.address, self.cpus)
        return self

    def __exit__(self, *exc) -> None:
        import ray

        ray.shutdown()


def ray_ordered_map(fn: Callable, items: Iterable, window: int) -> Iterator:
    """``fn(item)`` for each item as Ray tasks (one CPU each, at most ``window`` in flight), yielded
    in the items' order. ``items`` may be endless: tasks are started as results are taken, and the
    ones still in flight are cancelled when the consumer stops (closes the generator), and waited
    for (up to CANCEL_WAIT_S) so that they clean up after themselves."""
    import ray

    task = ray.remote(num_cpus=1)(fn)
    items = iter(items)
    in_flight: list = []
    try:
        while True:
            while len(in_flight) < window:
                item = next(items, _END)
                if item is _END:
                    break
                in_flight.append(task.remote(item))
            if not in_flight:
                return
            yield ray.get(in_flight.pop(0))
    finally:  # cancelled tasks get a KeyboardInterrupt, so their `with` blocks clean up; wait for that
        for ref in in_flight:
            ray.cancel(ref)
        if in_flight:
            ray.wait(in_flight, num_returns=len(in_flight), timeout=CANCEL_WAIT_S)


_END = object()


def cluster_cpus() -> int:
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))


# ---- dataset and demonstrations, sharded the same way ------------------------------------------------


def shard_dataset_trails(jobs: list) -> Iterator:
    """``sim.dataset.TrailCapture`` on Ray: each trail of a dataset a task, results in trail order."""
    from sim.dataset import capture_trail

    return ray_ordered_map(capture_trail, jobs, cluster_cpus())


@dataclasses.dataclass
class ShippedEpisode:
    """A recorded episode and its bag's files (path inside the bag folder -> bytes), sent back to the
    driver so that the bag lands on the driver's disk wherever the task ran."""

    result: object  # sim.demo_recording.EpisodeResult
    files: dict[str, bytes]


def record_episode_shipped(job) -> ShippedEpisode:
    """The task: record ``job`` (a ``sim.demo_recording.EpisodeJob``) into a scratch folder, return it."""
    import tempfile

    from sim.demo_recording import record_job

    with tempfile.TemporaryDirectory(prefix="semloco_episode_") as scratch:
        bag = Path(scratch) / job.name
        result = record_job(job, bag)
        files = {str(p.relative_to(bag)): p.read_bytes() for p in sorted(bag.rglob("*")) if p.is_file()}
    return ShippedEpisode(result, files)


def land_bag(shipped: ShippedEpisode, out: Path):
    """Write a shipped bag into ``out`` (replacing a half-written one); its result, bag path in ``out``."""
    import shutil

    bag = out / Path(shipped.result.bag).name
    if bag.exists():
        shutil.rmtree(bag)
    for relative, data in shipped.files.items():
        (bag / relative).parent.mkdir(parents=True, exist_ok=True)
        (bag / relative).write_bytes(data)
    return dataclasses.replace(shipped.result, bag=str(bag))


def ray_episode_recorder(out: Path, jobs: Iterator) -> Iterator:
    """``sim.demo_recording.EpisodeRecorder`` on Ray: episodes recorded as tasks, as many at a time
    as the cluster has CPUs, landed in ``out`` in episode order; episodes started beyond the last one
    needed are cancelled and never written."""
    import contextlib

    with contextlib.closing(ray_ordered_map(record_episode_shipped, jobs, cluster_cpus())) as shipped_episodes:
        for shipped in shipped_episodes:
            yield land_bag(shipped, out)


def make_dataset_on_ray(request, progress=None) -> dict:
    """``sim.dataset.make_dataset`` with its trails driven as Ray tasks: the same files and card."""
    from sim.dataset import make_dataset

    with RaySession():
        return make_dataset(request, progress, capture=shard_dataset_trails)


def record_demonstrations_on_ray(out: Path, minutes: float, seed: int = 0, progress=None,
                                 max_walk_s: float | None = None) -> dict:
    """``sim.demo_recording.record_demonstrations`` with its episodes recorded as Ray tasks: the
    same episodes, bags and card."""
    from sim.demo_recording import record_demonstrations

    with RaySession():
        return record_demonstrations(out, minutes, seed, progress, recorder=ray_episode_recorder,
                                     max_walk_s=max_walk_s)


# ---- the sweep ------------------------------------------------------------------------------------


def plot_outcome(spec: RunSpec, outcome: RunOutcome, plots_dir: Path) -> None:
    from sim.trail import load_trail
    from sim.trail_report import plot_run

    plots_dir.mkdir(parents=True, exist_ok=True)
    trail = load_trail(spec.trail)
    model = f"_{Path(spec.speed_model).stem}" if spec.speed_model else ""
    name = f"{trail.name}_{spec.policy}_seed{spec.seed}{model}.png"
    plot_run(outcome.report, outcome.samples, trail, plots_dir / name)


def run_sweep(runs: list[RunSpec], runs_dir: Path, plots_dir: Path | None = None, quiet: bool = False) -> list[dict]:
    """Every run of ``runs`` not yet finished in ``runs_dir``, as Ray tasks (Ray must be connected);
    each report written as it comes back. Returns the reports in ``runs``' order; raises
    ``SweepFailed`` if any run raised (after the others are written)."""
    import ray
    from tqdm import tqdm

    from sim.trail import load_trail

    runs_dir.mkdir(parents=True, exist_ok=True)
    code = code_identity()
    finished = {spec: report for spec in runs if (report := read_run(runs_dir, spec, code)) is not None}
    stale = [spec.run_id for spec in runs if spec not in finished and read_run(runs_dir, spec) is not None]
    lengths = {name: load_trail(name).length_m for name in {s.trail for s in runs}}
    pending = sorted((s for s in runs if s not in finished), key=lambda s: -expected_cost(s, lengths))
    task = ray.remote(num_cpus=1)(execute_run)
    in_flight = {task.remote(spec, plots_dir is not None and should_plot(spec)): spec for spec in pending}
    failures = []
    with tqdm(total=len(runs), initial=len(finished), unit="run", desc="sweep", disable=quiet, file=sys.stderr) as bar:
        if finished:
            bar.write(f"{len(finished)} of {len(runs)} runs already finished in {runs_dir}", file=sys.stderr)
        if stale:
            bar.write(f"{len(stale)} run(s) in {runs_dir} were made by other code ({', '.join(stale)}); "
                      f"running them again", file=sys.stderr)
        while in_flight:
            (ref,), _ = ray.wait(list(in_flight), num_returns=1)
            spec = in_flight.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as exc:
                failures.append(spec.run_id)
                bar.write(f"{spec.run_id}: FAILED {str(exc).splitlines()[0]}", file=sys.stdout)
                continue
            write_run(runs_dir, spec, outcome.report, code)
            if outcome.samples is not None:
                plot_outcome(spec, outcome, plots_dir)
            finished[spec] = outcome.report
            bar.update(1)
            bar.write(run_line(spec, outcome.report), file=sys.stdout)
    if failures:
        raise SweepFailed(f"{len(failures)} run(s) failed: {', '.join(failures)}; start the sweep again to retry them")
    return [finished[spec] for spec in runs]


@dataclasses.dataclass(frozen=True)
class SweepCommand:
    grid: SweepGrid
    out: Path
    command: str
    address: str | None = None
    cpus: int | None = None
    plots: Path | None = None
    quiet: bool = False


def sweep_and_report(request: SweepCommand) -> PolicyPage:
    """Validate, connect, run the grid into ``out/runs``, write ``out``/trail_policies.json and .md.
    Raises ``SweepInputError`` (before writing anything) or ``SweepFailed``."""
    validate_grid(request.grid)
    with RaySession(request.address, request.cpus):
        reports = run_sweep(request.grid.runs(), request.out / "runs", request.plots, request.quiet)
    note = f"plots in {request.plots}" if request.plots else ""
    return write_policy_report({"command": request.command, "reports": reports}, request.out, note)


def print_page(page: PolicyPage, out: Path) -> None:
    print(page.table)
    print(page.check_lines())
    print(f"\n{out / REPORT_JSON}, {out / REPORT_PAGE}, runs in {out / 'runs'}")
