"""The locomotion controller: a composition of small parts with the same life cycle.

    sensors -> state estimator -> gait scheduler -> swing legs (PD) + stance legs (convex MPC)
            -> safety filter -> joint torques

The clock is the sensor timestamp, so the same code runs on simulated and on wall time. Modes:
``stand_up`` (joint-space interpolation from the current pose to the standing pose), ``walk``
(the gait, possibly the ``stand`` gait), and ``damped_stand`` (latched after a fault: a fall,
persistently failing MPC or non-finite sensor data; only ``reset`` leaves it).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
from numba import njit

from locomotion.commands import CommandFilter, CommandLimits, VelocityCommand
from locomotion.config import config_dir, load_dataclass
from locomotion.gait import GaitParameters, GaitScheduler, GaitTransitionRates, load_gait_presets
from locomotion.mpc import MpcConfig, MpcSolution
from locomotion.robot_model import RobotDescription
from locomotion.robot_state import EstimatedState, GroundTruth, SensorReadings
from locomotion.safety import EventLog, SafetyConfig, SafetyFilter
from locomotion.stance import StanceLegController
from locomotion.state_estimation import EstimatorConfig, GroundTruthEstimator, KalmanStateEstimator
from locomotion.swing import SwingConfig, SwingLegController


@dataclasses.dataclass(frozen=True)
class StandUpConfig:
    duration_s: float = 1.0
    kp: float = 100.0
    kd: float = 2.0


@dataclasses.dataclass(frozen=True)
class ControllerConfig:
    control_rate_hz: float = 500.0
    initial_gait: str = "stand"
    use_ground_truth_state: bool = False  # debugging: read the simulator instead of estimating
    # walk relative to the estimated ground plane (reference height and attitude, friction
    # cones, footholds); false takes the ground as level (the controller before slopes)
    terrain_aware: bool = True
    command_timeout_s: float = 0.5  # a command older than this is replaced by zero velocity
    lost_contact_delay_s: float = 0.02
    early_contact_min_progress: float = 0.5
    # while a foot searches for lost ground, legs due to swing stay planted up to this swing progress
    lost_contact_hold_progress: float = 0.0
    # Integral action on the forward speed: unmodelled resistance (grass stems, mud) makes the
    # robot fall short of the command; the MPC and foot placement are given the command plus
    # gain * integral of the (estimated) speed error, clipped to speed_integral_limit_mps.
    speed_integral_gain: float = 0.0  # 1/s; 0 disables
    speed_integral_limit_mps: float = 0.3
    speed_integral_deadband_mps: float = 0.0  # errors within this are the estimator's, not the terrain's
    # the limit tapers linearly to zero between these commanded speeds: resistance matters at walking
    # speeds, while at running speeds the velocity estimate's bias would be integrated instead
    speed_integral_taper_mps: tuple[float, float] = (1.0, 1.4)
    # the integral belongs to a steady command: while the command moves more than this away from
    # its own slow average (time constant 2 s), the integral is held at zero (no wind-up carried
    # from deep grass into the faster command that follows it)
    speed_integral_reset_mps: float = 0.15
    # Starting on a slope: the stand-up (in joint space, trunk parallel to the ground) leaves the
    # centre of mass downhill of the feet's centre; once the ground under the feet is steeper than
    # start_settle_min_slope_deg, the first start_settle_s of stepping are stepping in place (the
    # command held at rest) while the footholds bring the support under the trunk. 0 disables.
    start_settle_s: float = 0.0
    start_settle_min_slope_deg: float = 3.0
    # Holding still: while the command is at rest (stepping in place) the trunk is steered back to
    # where it came to rest, with a velocity of position_hold_gain times the estimated drift, up to
    # position_hold_limit_mps. 0 disables.
    position_hold_gain: float = 0.0  # 1/s
    position_hold_limit_mps: float = 0.15
    stand_up: StandUpConfig = dataclasses.field(default_factory=StandUpConfig)
    mpc: MpcConfig = dataclasses.field(default_factory=MpcConfig)
    swing: SwingConfig = dataclasses.field(default_factory=SwingConfig)
    estimator: EstimatorConfig = dataclasses.field(default_factory=EstimatorConfig)
    command_limits: CommandLimits = dataclasses.field(default_factory=CommandLimits)
    gait_transition: GaitTransitionRates = dataclasses.field(default_factory=GaitTransitionRates)
    safety: SafetyConfig = dataclasses.field(default_factory=SafetyConfig)

    def __post_init__(self) -> None:
        if not 100.0 <= self.control_rate_hz <= 2000.0:
            raise ValueError(f"control_rate_hz: must be in [100, 2000], got {self.control_rate_hz}")


def load_controller_config(path: str | Path | None = None) -> ControllerConfig:
    return load_dataclass(ControllerConfig, path or config_dir() / "controller.yaml")


@njit(cache=True)
def leg_contact_states(desired, contact, swing_progress, early_contact, lost_contact_time, dt,
                       early_min_progress, lost_delay, hold_max_progress):
    """The schedule refined by the foot contact sensors, per leg: (stance, swing, lost, early contact,
    lost-contact time).

    A swinging leg that touches down after ``early_min_progress`` of its swing is in stance early
    (until its scheduled stance begins); a leg scheduled in stance whose sensor has read no contact
    for longer than ``lost_delay`` has lost its ground (the swing controller reaches down for it).
    While any leg has lost its ground, a leg due to lift off that still stands on the ground stays
    in stance until ``hold_max_progress`` of its swing: a foot searching for ground past a crest
    must not leave the trunk on one diagonal foot (0 disables the hold)."""
    n = desired.shape[0]
    stance, swing, lost = np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty(n, np.bool_)
    early_out, lost_time = np.empty(n, np.bool_), np.empty(n)
    any_lost = False
    for leg in range(n):
        lost_time[leg] = lost_contact_time[leg] + dt if desired[leg] and not contact[leg] else 0.0
        lost[leg] = lost_time[leg] > lost_delay
        any_lost = any_lost or lost[leg]
    for leg in range(n):
        early = not desired[leg] and contact[leg] and swing_progress[leg] >= early_min_progress
        early_out[leg] = (early_contact[leg] or early) and not desired[leg]
        held = (any_lost and not desired[leg] and contact[leg] and not early_out[leg]
                and swing_progress[leg] < hold_max_progress)
        stance[leg] = (desired[leg] and not lost[leg]) or early_out[leg] or held
        swing[leg] = not desired[leg] and not early_out[leg] and not held
    return stance, swing, lost, early_out, lost_time


@njit(cache=True)
def touchdown_times(desired, stance_progress, swing_progress, stance_duration, swing_duration):
    """(4,) time until each leg's next touchdown: the rest of its stance plus a swing, or the rest of
    its swing."""
    out = np.empty(desired.shape[0])
    for leg in range(desired.shape[0]):
        if desired[leg]:
            out[leg] = (1.0 - stance_progress[leg]) * stance_duration + swing_duration
        else:
            out[leg] = (1.0 - swing_progress[leg]) * swing_duration
    return out


def position_hold_velocity(hold_xy, position_xy, yaw: float, gain: float, limit_mps: float) -> tuple[float, float]:
    """(forward, lateral) body-frame velocity that steers the trunk at ``position_xy`` back to
    ``hold_xy`` (world xy, heading ``yaw``): ``gain`` times the error, its norm capped at ``limit_mps``."""
    ex, ey = float(hold_xy[0]) - float(position_xy[0]), float(hold_xy[1]) - float(position_xy[1])
    c, s = math.cos(yaw), math.sin(yaw)
    forward, lateral = gain * (c * ex + s * ey), gain * (-s * ex + c * ey)
    norm = math.hypot(forward, lateral)
    if norm > limit_mps:
        forward, lateral = forward * limit_mps / norm, lateral * limit_mps / norm
    return forward, lateral


def speed_integral_step(
    bias: float, steady: float, command: float, measured: float, dt: float, cfg: ControllerConfig
) -> tuple[float, float]:
    """One tick of the integral action on the forward speed: (new bias, new steady command).

    ``steady`` follows the command with a 2 s time constant; while the command is near zero or moves
    more than ``speed_integral_reset_mps`` away from it, the bias is held at zero. Otherwise the speed
    error beyond the deadband is integrated, clipped to a limit that tapers to zero between the
    ``speed_integral_taper_mps`` commands."""
    steady += (1.0 - math.exp(-dt / 2.0)) * (command - steady)
    if abs(command) < 0.05 or abs(command - steady) > cfg.speed_integral_reset_mps:
        return 0.0, steady
    error = command - measured
    error = math.copysign(max(abs(error) - cfg.speed_integral_deadband_mps, 0.0), error)
    low, high = cfg.speed_integral_taper_mps
    limit = cfg.speed_integral_limit_mps * min(max((high - abs(command)) / (high - low), 0.0), 1.0)
    return min(max(bias + cfg.speed_integral_gain * error * dt, -limit), limit), steady


@dataclasses.dataclass
class ControllerStatus:
    mode: str
    state: EstimatedState | None
    command: VelocityCommand
    stance: np.ndarray  # (4,) legs treated as in stance this tick
    forces: np.ndarray  # (4, 3)
    mpc_solution: MpcSolution | None


class LocomotionController:
    def __init__(
        self,
        robot: RobotDescription,
        config: ControllerConfig | None = None,
        gait_presets: dict[str, GaitParameters] | None = None,
        compile_kernels: bool = True,
    ):
        self.robot = robot
        self.config = config or ControllerConfig()
        self.gaits = gait_presets or load_gait_presets()
        cfg = self.config
        self.events = EventLog()
        self.estimator = (
            GroundTruthEstimator(robot, cfg.estimator.ground_plane) if cfg.use_ground_truth_state
            else KalmanStateEstimator(robot, cfg.estimator)
        )
        self.gait = GaitScheduler(self.gait_by_name(cfg.initial_gait), cfg.gait_transition)
        self.swing = SwingLegController(robot, cfg.swing)
        self.stance = StanceLegController(robot, cfg.mpc, cfg.terrain_aware)
        self.commands = CommandFilter(cfg.command_limits)
        self.safety = SafetyFilter(robot, cfg.safety, self.events)
        self.dt = 1.0 / cfg.control_rate_hz
        self.status: ControllerStatus | None = None
        self._started = False
        if compile_kernels:
            self._load_compiled_kernels()

    def _load_compiled_kernels(self) -> None:
        """Compile (first use on a machine: seconds) or load (cached: milliseconds) the numba kernels
        of the tick now, by walking a throwaway copy of this controller for a few ticks, so that the
        first real control tick does not stall."""
        config = dataclasses.replace(self.config, use_ground_truth_state=False)  # no simulator here
        probe = LocomotionController(self.robot, config, self.gaits, compile_kernels=False)
        quiet = logging.getLogger("locomotion.kernel_warm_up")
        quiet.disabled = True
        probe.events.logger = quiet
        dt = probe.dt
        sensors = SensorReadings(0.0, self.robot.stand_pose, np.zeros(12), np.array([0.0, 0.0, 0.0, 1.0]),
                                 np.zeros(3), np.array([0.0, 0.0, 9.81]), np.array([True, False, True, False]))
        probe.reset(sensors)
        probe.mode = "walk"
        stepping = [g for g in self.gaits.values() if g.duty_factor < 1.0 and g.stepping_frequency_hz > 0]
        if stepping:
            probe.gait.reset(stepping[0])
        for tick in range(3):
            sensors.time_s = tick * dt
            probe.set_command(VelocityCommand(0.5, 0.0, 0.1), sensors.time_s)
            probe.update(sensors)

    def gait_by_name(self, name: str) -> GaitParameters:
        if name not in self.gaits:
            raise ValueError(f"gait: unknown gait {name!r} (known: {', '.join(sorted(self.gaits))})")
        return self.gaits[name]

    # --- life cycle ----------------------------------------------------------------------------
    def reset(self, sensors: SensorReadings) -> None:
        self.mode = "stand_up"
        self.t0 = sensors.time_s
        self.last_time = sensors.time_s
        self.stand_up_start_pose = np.where(
            np.isfinite(sensors.joint_positions), sensors.joint_positions, self.robot.stand_pose
        )
        self.estimator.reset()
        self.gait.reset(self.gait_by_name(self.config.initial_gait))
        self.swing.reset()
        self.stance.reset()
        self.commands.reset()
        self.last_command_time = -np.inf
        self.lost_contact_time = np.zeros(4)
        self.early_contact = np.zeros(4, dtype=bool)
        self.speed_bias = 0.0
        self.hold_xy: np.ndarray | None = None  # where the trunk came to rest (odometry), while holding
        self.has_moved = False  # a command to move has come since the reset (before it: no hold)
        self.steady_forward = 0.0
        self._settle_until: float | None = None  # set on the first stepping tick (_settling_at_start)
        self._started = True

    def set_command(self, command: VelocityCommand, t: float) -> VelocityCommand:
        """Accept a new twist (clipped to the limits); returns what will be tracked."""
        if not command.is_finite():
            self.events.record("non_finite_command", f"rejected {command}; holding zero velocity")
            self.commands.set(VelocityCommand())
            return VelocityCommand()
        self.last_command_time = t
        return self.commands.set(command)

    def set_gait(self, gait: GaitParameters | str) -> None:
        """Blend smoothly into a new gait (a preset name or explicit parameters)."""
        self.gait.set_target(self.gait_by_name(gait) if isinstance(gait, str) else gait)

    @property
    def standing_up(self) -> bool:
        return self.mode == "stand_up"

    # --- one tick -----------------------------------------------------------------------------
    def update(self, sensors: SensorReadings, ground_truth: GroundTruth | None = None) -> np.ndarray:
        """Joint torques (12,), Unitree order, for the motors. Always finite and within limits."""
        if not self._started:
            self.reset(sensors)
        t = sensors.time_s
        dt = self.dt if t <= self.last_time else min(t - self.last_time, 0.05)
        self.last_time = t
        q, dq = sensors.joint_positions, sensors.joint_velocities

        if not sensors.all_finite():
            self.events.record("non_finite_sensor", "sensor reading not finite; damped stand")
            self.mode = "damped_stand"
        if self.mode == "damped_stand":
            return self._finish(self.safety.damped_stand(q, dq), q, dq, None, np.zeros(4, bool), None)

        stance_sched = self.gait.desired_stance()
        state = self.estimator.update(sensors, dt, stance_sched, ground_truth)
        if max(abs(state.rpy[0]), abs(state.rpy[1])) > self.config.safety.max_tilt_rad:
            self.events.record("fall_detected", f"trunk tilt {np.degrees(state.rpy[:2]).round(1)} deg")
            self.mode = "damped_stand"
            return self._finish(self.safety.damped_stand(q, dq), q, dq, state, np.zeros(4, bool), None)

        if self.mode == "stand_up":
            torques = self._stand_up(t, q, dq)
            if t - self.t0 >= self.config.stand_up.duration_s:
                self.mode = "walk"
            return self._finish(torques, q, dq, state, np.ones(4, bool), None)

        return self._walk(t, dt, sensors, state)

    def _hold_position(self, command: VelocityCommand, state: EstimatedState) -> VelocityCommand:
        """The command, or while it is at rest, the velocity back to where the trunk came to rest."""
        cfg = self.config
        at_rest = max(abs(command.forward_mps), abs(command.lateral_mps)) < 1e-3  # turning on the spot holds too
        self.has_moved = self.has_moved or not at_rest
        if cfg.position_hold_gain <= 0 or not at_rest or not self.has_moved:  # holds where it came to rest
            self.hold_xy = None
            return command
        if self.hold_xy is None:
            self.hold_xy = np.array(state.position[:2], dtype=float)
        forward, lateral = position_hold_velocity(self.hold_xy, state.position[:2], float(state.rpy[2]),
                                                  cfg.position_hold_gain, cfg.position_hold_limit_mps)
        return VelocityCommand(forward, lateral, command.yaw_rate_radps)

    def _stand_up(self, t: float, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
        cfg = self.config.stand_up
        s = min(max((t - self.t0) / cfg.duration_s, 0.0), 1.0)
        blend = s * s * (3 - 2 * s)
        target = self.stand_up_start_pose + (self.robot.stand_pose - self.stand_up_start_pose) * blend
        return cfg.kp * (target - q) - cfg.kd * dq

    def _walk(self, t: float, dt: float, sensors: SensorReadings, state: EstimatedState) -> np.ndarray:
        cfg = self.config
        q, dq = sensors.joint_positions, sensors.joint_velocities
        if cfg.command_timeout_s > 0 and t - self.last_command_time > cfg.command_timeout_s:
            if np.any(self.commands.target != 0.0):
                self.events.record("stale_command", f"no command for {cfg.command_timeout_s} s; stopping")
            self.commands.target = np.zeros(3)
        if self._settling_at_start(t, state):
            self.commands.current = np.zeros(3)  # the ramp starts from rest when the settling ends
            command = VelocityCommand()
        else:
            command = self.commands.update(dt)
        if cfg.speed_integral_gain > 0:
            self.speed_bias, self.steady_forward = speed_integral_step(
                self.speed_bias, self.steady_forward, command.forward_mps,
                float(state.rotation[:, 0] @ state.linear_velocity), dt, cfg)
            command = VelocityCommand(command.forward_mps + self.speed_bias, command.lateral_mps,
                                      command.yaw_rate_radps)
        command = self._hold_position(command, state)
        self.gait.update(dt)
        gait = self.gait

        # leg states: schedule, refined by the contact sensors
        desired = gait.desired_stance()
        swing_progress = gait.swing_progress()
        stance, swing_mask, lost, self.early_contact, self.lost_contact_time = leg_contact_states(
            desired, np.asarray(sensors.foot_contact, dtype=bool), swing_progress, self.early_contact,
            self.lost_contact_time, dt, cfg.early_contact_min_progress, cfg.lost_contact_delay_s,
            cfg.lost_contact_hold_progress)

        # footholds for swinging legs and for legs that will swing within the horizon
        yaw = float(state.rpy[2])
        c, s = math.cos(yaw), math.sin(yaw)
        cmd_vel_world = np.array([c * command.forward_mps - s * command.lateral_mps,
                                  s * command.forward_mps + c * command.lateral_mps, 0.0])
        stance_duration, swing_duration = gait.stance_duration, gait.swing_duration
        time_to_td = touchdown_times(desired, gait.stance_progress(), swing_progress, stance_duration, swing_duration)
        footholds = self.swing.plan_footholds(
            state, cmd_vel_world, command.yaw_rate_radps, stance_duration, time_to_td,
            gait.base_height, ground=state.ground if cfg.terrain_aware else None,
        )
        swing_torques, _ = self.swing.update(
            state, swing_mask, swing_progress, swing_duration, gait.swing_height, lost & desired,
            q, dq, dt,
        )
        # the MPC re-plans at its rate and whenever a leg's contact state changes
        changed = self.status is not None and self.status.stance.tolist() != stance.tolist()
        plan = None
        if changed or self.stance.solve_due(t):
            contacts = gait.contact_schedule(cfg.mpc.horizon_steps, cfg.mpc.dt_s)
            contacts[0] = stance
            plan = (np.array([command.forward_mps, command.lateral_mps]), command.yaw_rate_radps,
                    gait.base_height, contacts, footholds)
        out = self.stance.update(t, state, stance, plan)
        if out.solution is not None and not out.solution.solved:
            self.events.record("qp_failure", f"MPC not solved ({out.solution.status}); reusing last plan")
            if t - self.stance.last_good_time > cfg.safety.qp_failure_timeout_s:
                self.events.record("qp_failure_timeout", "MPC failing for too long; damped stand")
                self.mode = "damped_stand"
                return self._finish(self.safety.damped_stand(q, dq), q, dq, state, stance, out.solution)
        torques = np.where(np.repeat(stance, 3), out.torques, swing_torques)
        self._command = command
        return self._finish(torques, q, dq, state, stance, out.solution, out.forces)

    def _settling_at_start(self, t: float, state: EstimatedState) -> bool:
        """Whether this tick is within the start's settling (``start_settle_s``), which is decided on
        the first tick the gait steps after a reset, from the ground plane's slope then."""
        cfg = self.config
        if self._settle_until is None:
            if cfg.start_settle_s <= 0:
                self._settle_until = -math.inf
            elif self.gait.duty_factor < 1.0 and self.gait.frequency > 0.0:
                steep = state.ground.slope_deg >= cfg.start_settle_min_slope_deg
                self._settle_until = t + cfg.start_settle_s if steep else -math.inf
            else:
                return False
        return t < self._settle_until

    def _finish(self, torques, q, dq, state, stance, solution, forces=None) -> np.ndarray:
        safe = self.safety.filter(torques, q, dq)
        self.status = ControllerStatus(
            mode=self.mode,
            state=state,
            command=getattr(self, "_command", VelocityCommand()),
            stance=stance,
            forces=forces if forces is not None else np.zeros((4, 3)),
            mpc_solution=solution,
        )
        return safe
