"""Walking a trail with a fixed skill (speed + gait): the terrain x gait benchmark's unit of work.

A simple operator model keeps the robot on the trail, as the seed paper's human did with the
joystick: a yaw-rate command that steers back towards the centre line (y = 0, heading +x) from the
trunk's pose. Progress along the trail is the trunk's x.
"""

from __future__ import annotations

import dataclasses
import time


from locomotion import kinematics as kin
from locomotion.commands import VelocityCommand
from locomotion.controller import LocomotionController, load_controller_config
from locomotion.gait import GaitParameters
from locomotion.robot_model import load_robot
from sim.trail import Trail
from sim.trail_world import TrailGround
from sim.walk import has_fallen, stand_up
from sim.world import SimWorld, load_sim_config

SPAWN_X_M = 0.3


def lane_keeping_yaw_rate(y: float, yaw: float, speed: float, k_y: float = 0.8, k_yaw: float = 1.5) -> float:
    """Yaw-rate command steering back to the centre line y = 0, heading 0."""
    return min(max(-k_yaw * yaw - k_y * y * max(speed, 0.3), -0.8), 0.8)


@dataclasses.dataclass
class SkillRunResult:
    completed: bool
    fell: bool
    distance_m: float
    duration_s: float
    mean_speed_mps: float
    commanded_speed_mps: float
    max_lateral_offset_m: float
    real_time_factor: float

    @property
    def speed_ratio(self) -> float:
        return self.mean_speed_mps / self.commanded_speed_mps if self.commanded_speed_mps > 0 else 0.0


def walk_trail_with_skill(trail: Trail, gait: GaitParameters, speed_mps: float, seed: int = 0,
                          time_limit_factor: float = 2.5, min_time_s: float = 10.0) -> SkillRunResult:
    """Walk ``trail`` at a constant speed and gait until its end, a fall, or the time limit
    (``time_limit_factor`` x the time the commanded speed needs)."""
    robot = load_robot("a1")
    controller = LocomotionController(robot, load_controller_config())
    ground = TrailGround(trail, seed=trail.seed + 1000 * seed)
    limit_s = max(min_time_s, time_limit_factor * trail.length_m / max(speed_mps, 0.05))
    wall0 = time.perf_counter()
    with SimWorld(robot, load_sim_config(), seed=seed, ground=ground, spawn_xy=(SPAWN_X_M, 0.0)) as world:
        sensors = stand_up(world, controller)
        controller.set_gait(gait)
        start_x, t_walk, fell, max_offset = world.ground_truth().position[0], 0.0, False, 0.0
        while t_walk < limit_s:
            truth = world.ground_truth()
            if has_fallen(truth, ground.height_at(truth.position[0])):
                fell = True
                break
            if truth.position[0] >= trail.length_m:
                break
            max_offset = max(max_offset, abs(truth.position[1]))
            rpy = kin.rotation_to_rpy(kin.quaternion_to_rotation(truth.orientation_xyzw))
            yaw_rate = lane_keeping_yaw_rate(truth.position[1], rpy[2], speed_mps)
            controller.set_command(VelocityCommand(speed_mps, 0.0, yaw_rate), sensors.time_s)
            world.step(controller.update(sensors, truth))
            sensors = world.sensors()
            t_walk += world.dt
        end_x = world.ground_truth().position[0]
        sim_s = world.time_s
    ground.close()
    distance = float(end_x - start_x)
    return SkillRunResult(
        completed=bool(not fell and end_x >= trail.length_m),
        fell=fell,
        distance_m=distance,
        duration_s=t_walk,
        mean_speed_mps=distance / t_walk if t_walk > 0 else 0.0,
        commanded_speed_mps=speed_mps,
        max_lateral_offset_m=max_offset,
        real_time_factor=sim_s / (time.perf_counter() - wall0),
    )
