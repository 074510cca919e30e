"""`semloco trail`: the product's main job in one process. Camera in, torques out, on a trail.

    camera -> terrain perception (embedding, depth) -> speed policy (+ obstacle cap)
           -> gait selector -> locomotion controller (MPC + swing) -> PyBullet A1

Policies (the seed's comparison):
  learned     the shipped speed policy on the shipped perception's embedding, obstacle-capped by
              the depth corridor check; the gait selector picks the gait from the speed.
  oracle      the scripted demonstrator's ground-truth choice (``preferred_speed``, no delay or
              wobble) through the same gait selector.
  fixed-slow  0.5 m/s with the slow gait, all the way.  fixed-fast  1.4 m/s with the fast gait.

Steering is the operator model (``lane_keeping_yaw_rate``, ground truth), as the seed's human
steered with a joystick while the policy chose speed and gait. The policy decides
``decision_rate_hz`` times a second (config/speed_policy.yaml); only those frames are rendered.

A run ends when the trunk passes the trail's end (completed), the robot falls, it makes less than
``STUCK_PROGRESS_M`` of progress in ``STUCK_WINDOW_S`` while commanded to move (stuck), it has
stood ``OBSTACLE_STOP_S`` in front of an obstacle (stopped_for_obstacle), or the time limit.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import pybullet

from locomotion import kinematics as kin
from locomotion.commands import VelocityCommand
from locomotion.controller import LocomotionController, load_controller_config
from locomotion.gait_selector import load_gait_selector
from locomotion.robot_model import load_robot
from sim.demonstrator import load_demonstrator_config, preferred_speed
from sim.trail import Trail
from sim.trail_report import TrailSample, summarize
from sim.trail_walk import SPAWN_X_M, lane_keeping_yaw_rate
from sim.trail_world import TrailGround
from sim.walk import has_fallen, stand_up
from sim.world import SimWorld, load_sim_config

POLICIES = ("learned", "oracle", "fixed-slow", "fixed-medium", "fixed-fast")
FIXED_SKILLS = {"fixed-slow": (0.5, "slow"), "fixed-medium": (1.0, "medium"), "fixed-fast": (1.4, "fast")}
SAMPLE_PERIOD_S = 0.1
STUCK_WINDOW_S = 20.0
STUCK_PROGRESS_M = 0.5
OBSTACLE_STOP_S = 5.0
ROBOT_URDF_FLAGS = pybullet.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT  # as sim/world.py loads the robot
MIN_PLANNED_SPEED_MPS = 0.25  # time limit: the trail at this speed, plus a minute


def models_dir() -> Path:
    candidates = [Path(__file__).resolve().parents[1] / "models"]
    import sys

    candidates.append(Path(sys.prefix) / "share" / "semantic_locomotion" / "models")
    return next((c for c in candidates if c.is_dir()), candidates[0])


@dataclasses.dataclass
class TrailRunRequest:
    trail: Trail
    policy: str = "learned"
    seed: int = 0
    gui: bool = False
    perception_checkpoint: Path | None = None
    speed_checkpoint: Path | None = None
    ground_pose_checkpoint: Path | None = None
    time_limit_s: float | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy: expected one of {', '.join(POLICIES)}, got {self.policy!r}")


class CameraSpeedSource:
    """The learned policy's eyes: render a frame, perceive it, decide a speed (obstacle-capped)."""

    def __init__(self, world: SimWorld, ground: TrailGround, request: TrailRunRequest):
        from locomotion.speed_policy import SpeedPolicy, load_speed_policy, load_speed_policy_config, policy_inputs
        from robot_perception.ground_pose import GroundPoseEstimator
        from robot_perception.inference import TerrainPerception
        from robot_perception.pointcloud import load_corridor_config, obstacle_class_ids, vegetation_heights
        from sim.camera import Camera, load_camera_config
        from sim.terrain import load_terrain_catalogue

        perception_path = request.perception_checkpoint or models_dir() / "terrain_net.pt"
        speed_path = request.speed_checkpoint or models_dir() / "speed_policy.pt"
        catalogue = load_terrain_catalogue()
        self.perception = TerrainPerception(perception_path, threads=1, expected_classes=catalogue.class_names)
        _, self.speed_header = load_speed_policy(speed_path)
        self.inputs = policy_inputs(self.speed_header)
        # the depth summary and the pose come from the ground-pose estimator's view of the frame
        self.estimator = (GroundPoseEstimator(request.ground_pose_checkpoint or models_dir() / "ground_pose.pt")
                          if {"depth", "pose"} & set(self.inputs) else None)
        net, _ = load_speed_policy(speed_path, self.perception.header["sha256"],
                                   self.estimator.header["sha256"] if self.estimator is not None else None)
        self.policy = SpeedPolicy(net, load_speed_policy_config(), self.inputs)
        self.camera_config = load_camera_config()
        # its own render scene: only what the frame can show (the same pixels, see sim.camera.RenderScene)
        self.camera = Camera.for_trail(world.client, self.camera_config, ground, catalogue.label_id("sky"),
                                       lighting_seed=request.seed, robot_id=world.robot_id,
                                       robot_urdf=str(world.robot.urdf_path), robot_flags=ROBOT_URDF_FLAGS)
        self.ground = ground
        self.corridor = load_corridor_config()
        self.walkable_ids, self.rangeless_ids = obstacle_class_ids(self.perception.class_names)
        self.vegetation = vegetation_heights(self.perception.class_names, self.corridor)
        self.geometry = None  # the latest frame's (robot_perception.ground_pose.FrameGeometry), with an estimator
        self.frames = 0
        self.perception_s = 0.0
        self.obstacle_frames = 0

    def decide(self, world: SimWorld, t: float) -> float:
        import numpy as np

        from locomotion.speed_policy import policy_features, pose_input
        from robot_perception.pointcloud import OBSTACLE, camera_up_vector, corridor_reading

        truth = world.ground_truth()
        frame = self.camera.render(truth.position, truth.orientation_xyzw, world.time_s, rgb_only=True)
        start = time.perf_counter()
        out = self.perception.process(frame.rgb)
        # the simulated IMU reports the trunk's attitude exactly (sim.world.SimWorld.sensors)
        up = camera_up_vector(truth.orientation_xyzw, math.radians(self.camera_config.mount_pitch_deg))
        self.geometry = None
        if self.estimator is not None:
            self.geometry = self.estimator.frame_geometry(out.depth_m, np.isin(out.labels, self.walkable_ids),
                                                          frame.intrinsics, up)
        self.policy.observe_features(policy_features(
            self.inputs, out.embedding, self.geometry and self.geometry.summary_vector(),
            self.geometry and pose_input(self.geometry.pose_fields())), t)
        reading = corridor_reading(out.depth_m, out.labels, frame.intrinsics, self.walkable_ids, self.corridor,
                                   rangeless_ids=self.rangeless_ids, up=up, vegetation=self.vegetation)
        self.policy.observe_obstacle(reading.distance_m, t)
        self.perception_s += time.perf_counter() - start
        self.frames += 1
        self.obstacle_frames += int(reading.status == OBSTACLE)
        return self.policy.command(t)

    def close(self) -> None:
        self.camera.close()


def trail_outcome(truth, ground: TrailGround, trail: Trail, controller: LocomotionController) -> str | None:
    """"fell" (trunk down, or the controller gave up into its damped stand), "completed" (past the
    trail's end) or None (still walking): the one rule for every way of walking a trail."""
    x = float(truth.position[0])
    if has_fallen(truth, ground.height_at(x)) or controller.mode == "damped_stand":
        return "fell"
    return "completed" if x >= trail.length_m else None


def run_trail(request: TrailRunRequest, progress=None, on_decision=None) -> tuple[dict, list[TrailSample]]:
    """Walk ``request.trail`` with ``request.policy``; returns the report and the samples.
    ``on_decision(t, truth, source)``, if given, is called after each learned-policy decision
    (``source`` is the CameraSpeedSource: its ``policy`` holds the raw and smoothed predictions)."""
    from locomotion.speed_policy import load_speed_policy_config

    trail = request.trail
    robot = load_robot("a1")
    controller = LocomotionController(robot, load_controller_config())
    selector = load_gait_selector()
    demonstrator = load_demonstrator_config()
    decision_period = 1.0 / load_speed_policy_config().decision_rate_hz
    ground = TrailGround(trail, seed=trail.seed + 1000 * request.seed)
    limit_s = request.time_limit_s or trail.length_m / MIN_PLANNED_SPEED_MPS + 60.0
    wall0 = time.perf_counter()
    samples: list[TrailSample] = []
    extra: dict = {"decision_rate_hz": 1.0 / decision_period}
    with SimWorld(robot, load_sim_config(gui=request.gui), seed=request.seed, ground=ground,
                  spawn_xy=(SPAWN_X_M, 0.0)) as world:
        source = CameraSpeedSource(world, ground, request) if request.policy == "learned" else None
        sensors = stand_up(world, controller)
        energy0, t0 = world.mechanical_energy_j, world.time_s
        speed, next_decision, next_sample = 0.0, 0.0, 0.0
        progress_mark = (0.0, world.ground_truth().position[0])
        stopped_since = None
        end_reason, fell = "time_limit", False
        if request.policy in FIXED_SKILLS:
            speed, gait_name = FIXED_SKILLS[request.policy]
            controller.set_gait(gait_name)
        while True:
            t = world.time_s - t0
            truth = world.ground_truth()
            x = float(truth.position[0])
            outcome = trail_outcome(truth, ground, trail, controller)
            if outcome is not None:
                end_reason, fell = outcome, outcome == "fell"
                break
            if t >= limit_s:
                break
            if t >= next_decision:
                next_decision += decision_period
                if source is not None:
                    speed = source.decide(world, t)
                    if on_decision is not None:
                        on_decision(t, truth, source)
                elif request.policy == "oracle":
                    speed = preferred_speed(trail, demonstrator, x)
                if request.policy not in FIXED_SKILLS:
                    controller.set_gait(selector.select(speed))
                if speed < 0.05 and source is not None and math.isfinite(source.policy.obstacle_cap):
                    stopped_since = t if stopped_since is None else stopped_since
                    if t - stopped_since >= OBSTACLE_STOP_S:
                        end_reason = "stopped_for_obstacle"
                        break
                else:
                    stopped_since = None
            if t - progress_mark[0] >= STUCK_WINDOW_S:
                if x - progress_mark[1] < STUCK_PROGRESS_M and speed > 0.1:
                    end_reason = "stuck"
                    break
                progress_mark = (t, x)
            yaw_rate = lane_keeping_yaw_rate(float(truth.position[1]), kin.yaw_of_quaternion(truth.orientation_xyzw),
                                             speed)
            controller.set_command(VelocityCommand(speed, 0.0, yaw_rate), sensors.time_s)
            if t >= next_sample:
                next_sample += SAMPLE_PERIOD_S
                samples.append(TrailSample(
                    time_s=t, distance_m=x, lateral_m=float(truth.position[1]), terrain=trail.terrain_at(x),
                    commanded_mps=speed, achieved_mps=float(truth.linear_velocity[0]),
                    swing_height_m=controller.gait.swing_height, stepping_frequency_hz=controller.gait.frequency))
                if progress is not None:
                    progress(x)
            world.step(controller.update(sensors, truth))
            sensors = world.sensors()
        truth = world.ground_truth()
        x = float(truth.position[0])
        samples.append(TrailSample(world.time_s - t0, x, float(truth.position[1]), trail.terrain_at(x), speed,
                                   float(truth.linear_velocity[0]), controller.gait.swing_height,
                                   controller.gait.frequency))
        energy, sim_s = world.mechanical_energy_j - energy0, world.time_s
        if source is not None:
            extra.update({"perception_frames": source.frames,
                          "perception_ms_per_frame": 1e3 * source.perception_s / max(source.frames, 1),
                          "obstacle_frames": source.obstacle_frames,
                          "speed_policy_sha256": source.speed_header["sha256"],
                          "speed_policy_inputs": list(source.inputs)})
            source.close()
        extra["controller_events"] = dict(controller.events.counts)
    ground.close()
    report = summarize(samples, trail=trail, policy=request.policy, seed=request.seed,
                       completed=end_reason == "completed", fell=fell, end_reason=end_reason,
                       energy_j=energy, weight_n=robot.mass_kg * 9.81, sim_time_s=sim_s,
                       wall_time_s=time.perf_counter() - wall0, extra=extra)
    return report, samples
