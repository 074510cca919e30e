"""`semloco dataset`: labelled synthetic frames from the robot's own camera on generated trails.

The robot walks each generated trail under the real controller with varied skills (speed, gait)
so the camera sways as it does at run time. Frames are captured in bursts of consecutive camera
frames (at the camera rate: temporal neighbours for video training and flicker evaluation), the
bursts spread along the whole trail.

Format (open, documented in the card):
    DIR/dataset.json            the dataset card: classes, counts, seeds, command, camera
    DIR/frames.jsonl            one JSON line per frame: ids, file names, time, trail and burst,
                                trail position, terrain under the robot, camera intrinsics and
                                pose (4x4, world from optical frame), the commanded skill
    DIR/rgb/NNNNNN.png          8-bit RGB
    DIR/depth/NNNNNN.npy        float32 metres along the optical axis (inf where sky)
    DIR/labels/NNNNNN.png       8-bit class ids (see card; 255 = ignore)

Each frame's files are written before its index line, and the index is flushed per line, so an
interrupted run leaves every listed frame complete; the card is rewritten after every trail.
Deterministic for a seed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from locomotion import kinematics as kin
from locomotion.commands import VelocityCommand
from locomotion.controller import LocomotionController, load_controller_config
from locomotion.gait import load_gait_presets
from locomotion.robot_model import load_robot
from sim.camera import IGNORE_LABEL, Camera, CameraConfig, CameraFrame, load_camera_config
from sim.terrain import load_terrain_catalogue
from sim.trail import SEGMENT_LENGTH_RANGE_M, Trail, random_trail
from sim.trail_walk import SPAWN_X_M, lane_keeping_yaw_rate
from sim.walk import has_fallen, stand_up
from sim.trail_world import TrailGround
from sim.world import SimWorld, load_sim_config

# skills the data drive may use per terrain (a careful driver: slow on deformable ground)
SAFE_SKILLS = {
    "asphalt": ("slow", "medium", "fast"), "concrete": ("slow", "medium", "fast"),
    "gravel": ("slow", "medium"), "pebbles": ("slow", "medium"), "grass": ("slow", "medium"),
    "sand": ("slow", "medium"), "deep_grass": ("slow",), "mud": ("slow",),
}
SKILL_SPEEDS = {"slow": 0.5, "medium": 1.0, "fast": 1.4}


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    tmp.replace(path)


def write_frame(out: Path, index: int, frame, meta: dict) -> dict:
    name = f"{index:06d}"
    _atomic_write(out / "rgb" / f"{name}.png", lambda p: _imwrite(p, cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)))
    _atomic_write(out / "labels" / f"{name}.png", lambda p: _imwrite(p, frame.labels))
    _atomic_write(out / "depth" / f"{name}.npy", lambda p: _save_npy(p, frame.depth_m))
    return {
        "index": index, "rgb": f"rgb/{name}.png", "depth": f"depth/{name}.npy", "labels": f"labels/{name}.png",
        "time_s": round(frame.time_s, 4), "intrinsics": frame.intrinsics.round(6).tolist(),
        "world_from_camera": frame.world_from_camera.round(6).tolist(), **meta,
    }


def _imwrite(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"could not encode {path}")
    path.write_bytes(data.tobytes())


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array)


@dataclasses.dataclass
class DatasetRequest:
    out: Path
    trails: int = 4
    frames_per_trail: int = 40
    seed: int = 0
    command: str = ""
    boulders: bool = False  # put boulders on the trails (see with_boulders)
    burst_frames: int = 5  # consecutive camera frames per capture point (longer: video for flicker evaluation)
    max_slope_deg: float | None = None  # slopes of the random trails (None: random_trail's default; 0: flat)
    flat_start: bool = True  # make each trail's first segment flat (see TrailJob.flat_start)
    segment_length_range_m: tuple[float, float] = SEGMENT_LENGTH_RANGE_M  # of the random trails' segments


def with_boulders(trail: Trail, seed: int) -> Trail:
    """``trail`` with one or two boulders beside the walking line and one closing the trail on the
    centre line, so the data shows obstacles from the side and straight ahead (the drive stops
    short of the closing one, as the obstacle check will have the robot do)."""
    from sim.trail import TrailObstacle

    rng = np.random.default_rng(seed + 77)
    length, half_width = trail.length_m, trail.width_m / 2
    obstacles = []
    for _ in range(int(rng.integers(1, 3))):
        size = float(rng.uniform(0.3, 0.7))
        lateral = float(min(0.45 + size / 2 + rng.uniform(0.0, 0.4), half_width - size / 2))
        obstacles.append(TrailObstacle(round(float(rng.uniform(3.0, length - 5.0)), 2),
                                       round(float(rng.choice([-1, 1])) * lateral, 2), round(size, 2),
                                       round(float(rng.uniform(0.25, 0.8)), 2)))
    obstacles.append(TrailObstacle(round(length - 0.6, 2), round(float(rng.uniform(-0.2, 0.2)), 2),
                                   round(float(rng.uniform(0.5, 1.0)), 2), round(float(rng.uniform(0.4, 0.9)), 2)))
    return dataclasses.replace(trail, obstacles=tuple(obstacles))


def walk_end_m(trail: Trail, clearance_m: float = 1.0) -> float:
    """Where a drive along the centre line ends: the trail's end, or short of a boulder on the line."""
    blocking = [ob.at_m for ob in trail.obstacles if abs(ob.lateral_m) < ob.size_m / 2 + 0.35]
    return min([trail.length_m] + [at - clearance_m for at in blocking])


def read_index(out: Path) -> list[dict]:
    """The complete frames listed in frames.jsonl (a torn last line from an interrupt is skipped)."""
    path = Path(out) / "frames.jsonl"
    if not path.exists():
        return []
    frames = []
    for line in path.read_text().splitlines():
        try:
            frames.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return frames


PLANNING_SPEED_MPS = 0.6  # to spread capture points along the whole trail


def drive_trail(trail: Trail, trail_seed: int, frames_wanted: int, camera_config: CameraConfig, rng,
                on_frame, burst_frames: int) -> dict:
    """Walk one trail, calling ``on_frame(frame, meta)`` for bursts of consecutive camera frames
    spread along the whole trail (so every segment is seen, and temporal neighbours exist)."""
    robot = load_robot("a1")
    catalogue = load_terrain_catalogue()
    gaits = load_gait_presets()
    controller = LocomotionController(robot, load_controller_config())
    ground = TrailGround(trail, seed=trail_seed)
    captured, fell = 0, False
    with SimWorld(robot, load_sim_config(), seed=trail_seed, ground=ground, spawn_xy=(SPAWN_X_M, 0.0)) as world:
        camera = Camera(world.client, camera_config, ground.body_labels, catalogue.label_id("sky"),
                        lighting_seed=trail_seed)
        sensors = stand_up(world, controller)
        period = 1.0 / camera_config.rate_hz
        n_bursts = int(np.ceil(frames_wanted / burst_frames))
        spacing = max(burst_frames * period, trail.length_m / PLANNING_SPEED_MPS / n_bursts)
        next_frame, burst, in_burst = world.time_s, 0, 0
        segment, skill, speed = -1, "slow", 0.5
        limit = world.time_s + 4.0 * trail.length_m / 0.5
        end_x = walk_end_m(trail)
        while captured < frames_wanted and world.time_s < limit:
            truth = world.ground_truth()
            x = truth.position[0]
            if x >= end_x:
                break
            if has_fallen(truth, ground.height_at(x)) or controller.mode == "damped_stand":
                fell = True
                break
            index = ground.segment_index(x)
            if index != segment:  # a new terrain: pick a skill a careful driver would use there
                segment = index
                skill = str(rng.choice(SAFE_SKILLS[ground.terrain_at(x)]))
                speed = SKILL_SPEEDS[skill] * float(rng.uniform(0.85, 1.1))
                controller.set_gait(gaits[skill])
            if world.time_s >= next_frame - 1e-9:
                frame = camera.render(truth.position, truth.orientation_xyzw, world.time_s)
                on_frame(frame, {"trail": trail.name, "trail_seed": trail_seed, "burst": burst,
                                 "trail_x_m": round(float(x), 3), "terrain_under_robot": ground.terrain_at(x),
                                 "skill": skill, "commanded_speed_mps": round(speed, 3)})
                captured += 1
                in_burst += 1
                if in_burst < burst_frames:
                    next_frame += period
                else:
                    burst, in_burst = burst + 1, 0
                    next_frame += spacing - (burst_frames - 1) * period
            rpy = kin.rotation_to_rpy(kin.quaternion_to_rotation(truth.orientation_xyzw))
            yaw_rate = lane_keeping_yaw_rate(truth.position[1], rpy[2], speed)
            controller.set_command(VelocityCommand(speed, 0.0, yaw_rate), sensors.time_s)
            world.step(controller.update(sensors, truth))
            sensors = world.sensors()
    ground.close()
    return {"name": trail.name, "seed": trail_seed, "frames": captured, "fell": fell,
            "segments": [dataclasses.asdict(s) for s in trail.segments],
            "obstacles": [dataclasses.asdict(o) for o in trail.obstacles]}


@dataclasses.dataclass(frozen=True)
class TrailJob:
    """One trail of a dataset: all a worker needs to drive it and capture its frames."""

    index: int
    seed: int
    frames_wanted: int
    burst_frames: int
    boulders: bool
    max_slope_deg: float | None = None  # None: random_trail's default
    # the first segment flat: the robot stands up and sets off on level ground. From a standing start
    # on a slope of more than ~5 deg the controller of 5e138c0 neither walks nor falls: it shuffles
    # near the spawn point for the whole capture (e.g. a -7.7 deg grass start: 0.3 m in 50 s), so the
    # dataset would hold 30 frames of the first metre. The segment keeps its terrain and length; the
    # crest or dip at its end becomes a plain climb or descent.
    flat_start: bool = True
    segment_length_range_m: tuple[float, float] = SEGMENT_LENGTH_RANGE_M

    def trail(self) -> Trail:
        slopes = {} if self.max_slope_deg is None else {"max_slope_deg": self.max_slope_deg}
        trail = random_trail(self.seed, name=f"trail_{self.index:03d}", length_range_m=self.segment_length_range_m,
                             **slopes)
        if self.flat_start and trail.segments and trail.segments[0].slope_deg != 0.0:
            first = dataclasses.replace(trail.segments[0], slope_deg=0.0)
            trail = dataclasses.replace(trail, segments=(first, *trail.segments[1:]))
        return with_boulders(trail, self.seed) if self.boulders else trail


@dataclasses.dataclass
class CapturedTrail:
    """A trail's summary and its frames held in memory, in capture order."""

    summary: dict
    frames: list[tuple[CameraFrame, dict]]


# ``capture(jobs)`` yields each job's CapturedTrail in the jobs' order, wherever it drives them
# (semantic_locomotion.sweep.shard_dataset_trails: Ray tasks)
TrailCapture = Callable[[list[TrailJob]], Iterator[CapturedTrail]]


def drive_job(job: TrailJob, camera_config: CameraConfig, on_frame) -> dict:
    return drive_trail(job.trail(), job.seed, job.frames_wanted, camera_config, np.random.default_rng(job.seed),
                       on_frame, job.burst_frames)


def capture_trail(job: TrailJob) -> CapturedTrail:
    """Drive ``job``'s trail and keep its frames (the unit of work of a sharded dataset)."""
    frames: list[tuple[CameraFrame, dict]] = []
    summary = drive_job(job, load_camera_config(), lambda frame, meta: frames.append((frame, meta)))
    return CapturedTrail(summary, frames)


class DatasetWriter:
    """Writes frames in order (files first, then the index line) and rewrites the card per trail."""

    def __init__(self, out: Path, card: dict, class_names: tuple[str, ...], progress=None):
        self.out, self.card, self.class_names, self.progress = out, card, class_names, progress
        self.counts = np.zeros(256, dtype=np.int64)
        self.frame_index = 0
        self.started = time.perf_counter()
        self.index_file = open(out / "frames.jsonl", "a")

    def add_frame(self, frame: CameraFrame, meta: dict) -> None:
        record = write_frame(self.out, self.frame_index, frame, meta)
        self.index_file.write(json.dumps(record) + "\n")
        self.index_file.flush()
        self.counts[:] += np.bincount(frame.labels.ravel(), minlength=256)
        self.frame_index += 1
        if self.progress is not None:
            self.progress(1)

    def finish_trail(self, summary: dict, last: bool) -> None:
        card = self.card
        card["trails"].append(summary)
        card["frames"] = self.frame_index
        card["pixel_counts"] = {name: int(self.counts[i]) for i, name in enumerate(self.class_names)}
        card["pixel_counts"]["ignore"] = int(self.counts[IGNORE_LABEL])
        card["complete"] = last
        card["wall_time_s"] = round(time.perf_counter() - self.started, 1)
        _atomic_write(self.out / "dataset.json", lambda p: p.write_text(json.dumps(card, indent=2) + "\n"))

    def close(self) -> None:
        self.index_file.close()


def dataset_card(request: DatasetRequest, trail_seeds: list[int], camera_config: CameraConfig) -> dict:
    catalogue = load_terrain_catalogue()
    return {
        "format": "semantic_locomotion synthetic dataset v1 (see sim/dataset.py)",
        "command": request.command, "seed": request.seed, "trail_seeds": trail_seeds,
        "boulders": request.boulders, "burst_frames": request.burst_frames, "max_slope_deg": request.max_slope_deg,
        "flat_start": request.flat_start, "segment_length_range_m": list(request.segment_length_range_m),
        "classes": {str(i): name for i, name in enumerate(catalogue.class_names)},
        "walkable_classes": list(catalogue.walkable), "ignore_label": IGNORE_LABEL,
        "camera": dataclasses.asdict(camera_config),
        "depth": "float32 metres along the optical axis, inf where the ray hits nothing (sky)",
        "pose": "world_from_camera: 4x4, world = odom frame of the trail (x along the trail, z up), "
                "camera = optical frame (z forward, x right, y down)",
        "trails": [], "frames": 0, "pixel_counts": {name: 0 for name in catalogue.class_names},
        "complete": False,
    }


def make_dataset(request: DatasetRequest, progress=None, capture: TrailCapture | None = None) -> dict:
    """Drive ``request.trails`` generated trails and write their frames. Without ``capture`` each
    trail is driven here and each frame written as it is captured; with it, the trails are driven
    where ``capture`` runs them and written here in trail order, to the same files."""
    out = Path(request.out)
    for sub in ("rgb", "depth", "labels"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    if (out / "frames.jsonl").exists() and read_index(out):
        raise FileExistsError(f"--out: {out} already holds a dataset; choose an empty folder")
    camera_config = load_camera_config()
    rng = np.random.default_rng(request.seed)
    trail_seeds = [int(s) for s in rng.integers(0, 2**31 - 1, request.trails)]
    jobs = [TrailJob(t, seed, request.frames_per_trail, request.burst_frames, request.boulders, request.max_slope_deg,
                     request.flat_start, request.segment_length_range_m) for t, seed in enumerate(trail_seeds)]
    card = dataset_card(request, trail_seeds, camera_config)
    writer = DatasetWriter(out, card, load_terrain_catalogue().class_names, progress)
    try:
        if capture is None:
            for job in jobs:
                writer.finish_trail(drive_job(job, camera_config, writer.add_frame), job.index == len(jobs) - 1)
        else:
            for job, captured in zip(jobs, capture(jobs)):
                for frame, meta in captured.frames:
                    writer.add_frame(frame, meta)
                writer.finish_trail(captured.summary, job.index == len(jobs) - 1)
    finally:
        writer.close()
    return card
