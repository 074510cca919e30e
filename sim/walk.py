"""`semloco walk`: walk the A1 on flat ground under a constant command and report how it went."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from locomotion import kinematics as kin
from locomotion.commands import VelocityCommand
from locomotion.controller import ControllerConfig, LocomotionController, load_controller_config
from locomotion.robot_model import RobotDescription, load_robot
from locomotion.robot_state import SensorReadings
from sim.world import SimConfig, SimWorld, load_sim_config

SETTLE_S = 2.0
STAND_S = 1.5  # stand-up (1 s) plus half a second of standing before the command
MIN_TRUNK_HEIGHT_M = 0.12  # below this above the ground, or tilted past MAX_TILT_RAD, the robot fell
MAX_TILT_RAD = 1.0


def has_fallen(truth, ground_height_m: float = 0.0) -> bool:
    """Whether the simulator's trunk state is a fall (too low over the ground or tipped over)."""
    roll, pitch = kin.roll_pitch_of_quaternion(truth.orientation_xyzw)
    return bool(float(truth.position[2]) - ground_height_m < MIN_TRUNK_HEIGHT_M
                or max(abs(roll), abs(pitch)) > MAX_TILT_RAD)


def stand_up(world, controller) -> SensorReadings:
    """Reset the controller and run it for STAND_S (stand up, then stand); returns the last readings."""
    sensors = world.sensors()
    controller.reset(sensors)
    for _ in range(int(STAND_S / world.dt)):
        world.step(controller.update(sensors, world.ground_truth()))
        sensors = world.sensors()
    return sensors


@dataclasses.dataclass
class Push:
    at_s: float  # walking time
    force_n: tuple[float, float, float]
    duration_s: float


@dataclasses.dataclass
class WalkRequest:
    speed_mps: float = 0.5
    lateral_mps: float = 0.0
    yaw_rate_radps: float = 0.0
    gait: str = "trot"
    duration_s: float = 10.0
    seed: int = 0
    gui: bool = False
    push: Push | None = None


def walk_log(positions, quaternions, velocities, yaw_rates, estimates, dt: float) -> dict[str, np.ndarray]:
    """Per walking tick: time, forward and lateral speed in the heading frame, yaw rate, the velocity
    estimate's error, height, tilt (max |roll|, |pitch|) and the trunk's xy, from the raw samples."""
    rpy = np.array([kin.rotation_to_rpy(kin.quaternion_to_rotation(q)) for q in quaternions]).reshape(-1, 3)
    c, s = np.cos(rpy[:, 2]), np.sin(rpy[:, 2])
    vx, vy = velocities[:, 0], velocities[:, 1]
    return {
        "t": np.arange(len(positions)) * dt,
        "v_fwd": c * vx + s * vy,
        "v_lat": -s * vx + c * vy,
        "yaw_rate": yaw_rates,
        "v_est_err": np.linalg.norm(estimates - velocities, axis=1),
        "height": positions[:, 2],
        "tilt": np.max(np.abs(rpy[:, :2]), axis=1) if len(rpy) else np.zeros(0),
        "xy": positions[:, :2],
    }


def _percentiles(values_s: list[float]) -> dict:
    if not values_s:
        return {"p50": None, "p99": None, "max": None, "count": 0}
    ms = np.array(values_s) * 1e3
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
            "max": float(ms.max()), "count": int(ms.size)}


def run_walk(
    request: WalkRequest,
    robot: RobotDescription | None = None,
    controller_config: ControllerConfig | None = None,
    sim_config: SimConfig | None = None,
    progress=None,
) -> dict:
    robot = robot or load_robot("a1")
    controller_config = controller_config or load_controller_config()
    sim_config = sim_config or load_sim_config(gui=request.gui)
    controller = LocomotionController(robot, controller_config)
    command = VelocityCommand(request.speed_mps, request.lateral_mps, request.yaw_rate_radps)
    tracked = controller.commands.clip(command)
    with SimWorld(robot, sim_config, seed=request.seed) as world:
        sensors = world.sensors()
        controller.reset(sensors)
        n_stand = round(STAND_S / world.dt)
        n_walk = round(request.duration_s / world.dt)
        # per walking tick: trunk position, orientation, velocities and the estimate (reduced after the loop)
        positions, quaternions, velocities, yaw_rates, estimates = [], [], [], [], []
        solve_times, total_times, iterations = [], [], []
        fell = False
        wall_start = time.perf_counter()
        energy_start = 0.0
        start_xy = None
        for i in range(n_stand + n_walk):
            walking = i >= n_stand
            if i == n_stand:
                controller.set_gait(request.gait)
                energy_start = world.mechanical_energy_j
                start_xy = world.ground_truth().position[:2].copy()
            if walking:
                controller.set_command(command, sensors.time_s)
                t_walk = (i - n_stand) * world.dt
                if request.push and abs(t_walk - request.push.at_s) < world.dt / 2:
                    world.push(np.array(request.push.force_n), request.push.duration_s)
            torques = controller.update(sensors, world.ground_truth())
            status = controller.status
            if status.mpc_solution is not None and walking:
                solve_times.append(status.mpc_solution.solve_time_s)
                total_times.append(status.mpc_solution.total_time_s)
                iterations.append(status.mpc_solution.iterations)
            world.step(torques)
            sensors = world.sensors()
            if walking:
                truth = world.ground_truth()
                positions.append(truth.position)
                quaternions.append(truth.orientation_xyzw)
                velocities.append(truth.linear_velocity)
                yaw_rates.append(truth.angular_velocity[2])
                estimates.append(status.state.linear_velocity if status.state is not None else np.full(3, np.nan))
                if has_fallen(truth):
                    fell = True
                    break
            if progress is not None:
                progress(1)
        wall = time.perf_counter() - wall_start
        sim_time = world.time_s
        energy = world.mechanical_energy_j - energy_start
        end_xy = world.ground_truth().position[:2]
    arr = walk_log(np.array(positions).reshape(-1, 3), np.array(quaternions).reshape(-1, 4),
                   np.array(velocities).reshape(-1, 3), np.array(yaw_rates), np.array(estimates).reshape(-1, 3),
                   world.dt)
    path_m = float(np.sum(np.linalg.norm(np.diff(arr["xy"], axis=0), axis=1))) if len(arr["t"]) > 1 else 0.0
    settled = arr["t"] >= SETTLE_S
    mean = lambda x: float(np.mean(x[settled])) if np.any(settled) else None
    walked_s = float(arr["t"][-1]) if arr["t"].size else 0.0
    displacement = float(np.linalg.norm(end_xy - start_xy)) if start_xy is not None else 0.0
    weight = robot.mass_kg * 9.81
    report = {
        "command": {"forward_mps": request.speed_mps, "lateral_mps": request.lateral_mps,
                    "yaw_rate_radps": request.yaw_rate_radps, "gait": request.gait},
        "tracked_command": dataclasses.asdict(tracked),
        "duration_s": request.duration_s,
        "seed": request.seed,
        "fell": fell,
        "walked_s": walked_s,
        "mean_speed_mps": mean(arr["v_fwd"]),
        "mean_lateral_speed_mps": mean(arr["v_lat"]),
        "mean_yaw_rate_radps": mean(arr["yaw_rate"]),
        "speed_error_mps": None,
        "lateral_speed_error_mps": None,
        "yaw_rate_error_radps": None,
        "velocity_estimate_rmse_mps": (float(np.sqrt(np.mean(arr["v_est_err"][settled] ** 2)))
                                       if np.any(settled) else None),
        "mean_height_m": mean(arr["height"]),
        "max_tilt_rad": float(arr["tilt"].max()) if arr["tilt"].size else None,
        "distance_m": path_m,  # horizontal path length of the trunk
        "displacement_m": displacement,
        "mpc_solve_ms": _percentiles(solve_times),
        "mpc_update_and_solve_ms": _percentiles(total_times),
        "mpc_iterations_median": float(np.median(iterations)) if iterations else None,
        "real_time_factor": sim_time / wall if wall > 0 else None,
        # mechanical cost of transport: integral of sum |tau * dq| over m g times path length
        "cost_of_transport": energy / (weight * path_m) if path_m > 0.05 else None,
        "controller_events": dict(controller.events.counts),
        "state_estimation": "ground_truth" if controller_config.use_ground_truth_state else "kalman",
    }
    if report["mean_speed_mps"] is not None:
        report["speed_error_mps"] = abs(report["mean_speed_mps"] - tracked.forward_mps)
        report["lateral_speed_error_mps"] = abs(report["mean_lateral_speed_mps"] - tracked.lateral_mps)
        report["yaw_rate_error_radps"] = abs(report["mean_yaw_rate_radps"] - tracked.yaw_rate_radps)
    return report


def write_report(report: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
