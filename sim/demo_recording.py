"""`semloco demonstrate`: the scripted demonstrator drives the simulated robot and is recorded.

Each episode is one random trail (seeds never used by the shipped trails), driven by
``ScriptedDemonstrator`` (speed) and the lane-keeping operator (steering), with the gait selector
turning the stick's speed into the gait, exactly as the product would. Everything is written
through ``semantic_locomotion.bag.BagWriter`` (the recorder node's writer) as one rosbag2/MCAP bag
per episode, with the topics a real teleop session records (``DEMO_TOPICS``):

    /cmd_vel              geometry_msgs/Twist       the operator's command (teleop rate)
    /camera/image_raw     sensor_msgs/Image rgb8    the onboard camera (speed-policy rate)
    /camera/camera_info   sensor_msgs/CameraInfo
    /odom                 nav_msgs/Odometry         the controller's state estimate
    /joint_states         sensor_msgs/JointState
    /ground_truth/odom    nav_msgs/Odometry         simulator only
    /trail/terrain        std_msgs/String           simulator only: terrain under the trunk

Timestamps are simulation time (the bag starts near t = 0, as a use_sim_time recording does).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from locomotion import kinematics as kin
from locomotion.commands import VelocityCommand
from locomotion.controller import LocomotionController, load_controller_config
from locomotion.gait_selector import load_gait_selector
from locomotion.robot_model import load_robot
from locomotion.speed_policy import load_speed_policy_config
from sim.demonstrator import DemonstratorConfig, ScriptedDemonstrator, load_demonstrator_config
from sim.trail import Trail, random_trail
from sim.trail_run import trail_outcome
from sim.trail_walk import SPAWN_X_M, lane_keeping_yaw_rate
from sim.trail_world import TrailGround
from sim.walk import stand_up
from sim.world import SimWorld, load_sim_config

TELEOP_RATE_HZ = 50.0
STATE_RATE_HZ = 50.0
FIRST_DEMO_TRAIL_SEED = 5000  # demo trails: seeds 5000+ (perception data uses < 1000; demo=3, paper460=46)


@dataclasses.dataclass
class EpisodeResult:
    bag: str
    trail: str
    sim_time_s: float
    walking_time_s: float
    distance_m: float
    images: int
    completed: bool
    fell: bool


def stamp_of(t: float):
    from builtin_interfaces.msg import Time

    sec = int(np.floor(t))
    return Time(sec=sec, nanosec=round((t - sec) * 1e9) % 1_000_000_000)


def demo_trail(episode_seed: int) -> Trail:
    """The random trail of one demonstration episode (about 40-60 m over six terrains)."""
    return random_trail(FIRST_DEMO_TRAIL_SEED + episode_seed, n_segments=6, length_range_m=(5.0, 11.0),
                        name=f"demo_{FIRST_DEMO_TRAIL_SEED + episode_seed}")


def record_episode(trail: Trail, bag_path: Path, seed: int, config: DemonstratorConfig | None = None,
                   max_walk_s: float | None = None, image_rate_hz: float | None = None) -> EpisodeResult:
    """Drive ``trail`` once with the scripted demonstrator, recording a bag at ``bag_path``."""
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from std_msgs.msg import String

    from locomotion.controller_node import fill_odometry, joint_state_message
    from robot_perception.ros_images import image_message
    from semantic_locomotion.bag import BagWriter
    from sim.camera import Camera, load_camera_config
    from sim.sim_node import camera_info_message
    from sim.terrain import load_terrain_catalogue

    config = config or load_demonstrator_config()
    image_rate_hz = image_rate_hz or load_speed_policy_config().decision_rate_hz
    robot = load_robot("a1")
    controller = LocomotionController(robot, load_controller_config())
    selector = load_gait_selector()
    demonstrator = ScriptedDemonstrator(trail, config, seed=seed)
    ground = TrailGround(trail, seed=trail.seed)
    camera_config = load_camera_config()
    max_walk_s = max_walk_s or trail.length_m / 0.25 + 30.0
    images, fell = 0, False
    with SimWorld(robot, load_sim_config(), seed=seed, ground=ground, spawn_xy=(SPAWN_X_M, 0.0)) as world, \
            BagWriter(bag_path) as bag:
        camera = Camera(world.client, camera_config, ground.body_labels, load_terrain_catalogue().label_id("sky"),
                        lighting_seed=seed)
        fid = camera_config.frame_id
        sensors = stand_up(world, controller)
        t0 = world.time_s
        next_cmd = next_state = next_image = t0
        speed = 0.0
        start_x = float(world.ground_truth().position[0])
        while world.time_s - t0 < max_walk_s:
            t = world.time_s
            ns = round(t * 1e9)
            truth = world.ground_truth()
            x = float(truth.position[0])
            outcome = trail_outcome(truth, ground, trail, controller)
            if outcome is not None:
                fell = outcome == "fell"
                break
            rpy = kin.rotation_to_rpy(kin.quaternion_to_rotation(truth.orientation_xyzw))
            if t >= next_cmd:
                next_cmd += 1.0 / TELEOP_RATE_HZ
                speed = demonstrator.command(t - t0, x)
                yaw_rate = lane_keeping_yaw_rate(float(truth.position[1]), float(rpy[2]), speed)
                controller.set_command(VelocityCommand(speed, 0.0, yaw_rate), sensors.time_s)
                controller.set_gait(selector.select(speed))
                twist = Twist()
                twist.linear.x, twist.angular.z = speed, yaw_rate
                bag.write_message("/cmd_vel", twist, ns)
            if t >= next_state:
                next_state += 1.0 / STATE_RATE_HZ
                stamp = stamp_of(t)
                joints = joint_state_message(stamp, sensors.joint_positions, sensors.joint_velocities,
                                             world.last_torques)
                bag.write_message("/joint_states", joints, ns)
                state = controller.status.state if controller.status else None
                if state is not None:
                    odom = Odometry()
                    odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, "odom", "base_link"
                    fill_odometry(odom, state.position, sensors.imu_orientation_xyzw, state.linear_velocity_body,
                                  state.angular_velocity_body)
                    bag.write_message("/odom", odom, ns)
                rot = kin.quaternion_to_rotation(truth.orientation_xyzw)
                gt = Odometry()
                gt.header.stamp, gt.header.frame_id, gt.child_frame_id = stamp, "odom", "base_link"
                fill_odometry(gt, truth.position, truth.orientation_xyzw, rot.T @ truth.linear_velocity,
                              rot.T @ truth.angular_velocity)
                bag.write_message("/ground_truth/odom", gt, ns)
            if t >= next_image:
                next_image += 1.0 / image_rate_hz
                frame = camera.render(truth.position, truth.orientation_xyzw, t)
                stamp = stamp_of(t)
                bag.write_message("/camera/image_raw", image_message(frame.rgb, "rgb8", stamp, fid), ns)
                bag.write_message("/camera/camera_info", camera_info_message(frame, stamp, fid), ns)
                bag.write_message("/trail/terrain", String(data=trail.terrain_at(x)), ns)
                images += 1
            world.step(controller.update(sensors, truth))
            sensors = world.sensors()
        end_x = float(world.ground_truth().position[0])
        walking = world.time_s - t0
        sim_time = world.time_s
    ground.close()
    return EpisodeResult(str(bag_path), trail.name, sim_time, walking, end_x - start_x, images,
                         bool(not fell and end_x >= trail.length_m), fell)


@dataclasses.dataclass(frozen=True)
class EpisodeJob:
    """One demonstration episode: its bag folder's name and its seed (trail, noise, lighting)."""

    name: str
    seed: int
    max_walk_s: float | None = None  # default: the trail at 0.25 m/s plus 30 s


def episode_jobs(out: Path, seed: int, done: set[str], max_walk_s: float | None = None) -> Iterator[EpisodeJob]:
    """The episodes of a set, in order, endless, leaving out those whose bag is already in the card."""
    for episode in itertools.count():
        name = f"episode_{seed:02d}_{episode:03d}"
        if str(out / name) not in done:
            yield EpisodeJob(name, 1000 * seed + episode + 1, max_walk_s)


def record_job(job: EpisodeJob, bag_path: Path) -> EpisodeResult:
    """Record ``job`` at ``bag_path`` (a half-written bag there, from an interrupted run, is replaced)."""
    if bag_path.exists():
        shutil.rmtree(bag_path)
    return record_episode(demo_trail(job.seed), bag_path, seed=job.seed, max_walk_s=job.max_walk_s)


def record_here(out: Path, jobs: Iterator[EpisodeJob]) -> Iterator[EpisodeResult]:
    for job in jobs:
        yield record_job(job, out / job.name)


# ``recorder(out, jobs)`` yields each job's result in the jobs' order with its bag in ``out``, taking
# jobs only as results are taken (semantic_locomotion.sweep.ShippedEpisodeRecorder: Ray tasks)
EpisodeRecorder = Callable[[Path, Iterator[EpisodeJob]], Iterator[EpisodeResult]]


def walking_s(card: dict) -> float:
    return sum(e["walking_time_s"] for e in card["episodes"])


def record_demonstrations(out: Path, minutes: float, seed: int = 0, progress=None,
                          recorder: EpisodeRecorder = record_here, max_walk_s: float | None = None) -> dict:
    """Episodes on fresh random trails until ``minutes`` of walking are recorded; writes
    ``out/demonstrations.json`` (the card of the set) and returns it. ``recorder`` records the
    episodes (default: one after another in this process); ``max_walk_s`` caps each episode."""
    out.mkdir(parents=True, exist_ok=True)
    card_path = out / "demonstrations.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {"episodes": []}
    card.update({"minutes_requested": minutes, "seed": seed,
                 "demonstrator": dataclasses.asdict(load_demonstrator_config())})
    done = {e["bag"] for e in card["episodes"]}
    wall0 = time.perf_counter()
    if walking_s(card) < minutes * 60.0:
        with contextlib.closing(recorder(out, episode_jobs(out, seed, done, max_walk_s))) as results:
            for result in results:
                card["episodes"].append(dataclasses.asdict(result))
                card["walking_minutes"] = walking_s(card) / 60.0
                card_path.write_text(json.dumps(card, indent=2))
                if progress is not None:
                    progress(result)
                if walking_s(card) >= minutes * 60.0:
                    break
    card["wall_minutes_last_run"] = (time.perf_counter() - wall0) / 60.0
    card_path.write_text(json.dumps(card, indent=2))
    return card
