"""Swing-leg control: Raibert footholds, a smooth swing trajectory, joint-space PD with feed-forward.

Footholds (world frame, per leg):
    p_td = hip at touchdown + v_cmd * T_stance / 2 + k_v (v - v_cmd) + 0.5 h / g (v x w_cmd)
where the hip's touchdown position is extrapolated from the current hip position with the
commanded twist over the remaining swing time. Trajectories go from the lift-off point to the
foothold: horizontal motion follows a minimum-jerk profile, height adds a bump of the gait's swing
height (16 s^2 (1-s)^2, peak at mid-swing, zero velocity at both ends). The foot target is turned
into joint targets by closed-form inverse kinematics (clipped to the joint limits) and tracked by
joint PD with the IK joint velocity as feed-forward.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numba import njit

from locomotion import kinematics as kin
from locomotion.ground_plane import GroundPlane
from locomotion.robot_model import RobotDescription
from locomotion.robot_state import EstimatedState

G = 9.81
LEVEL_GROUND = GroundPlane()  # z = 0: the footholds' ground without an estimated plane


@dataclasses.dataclass(frozen=True)
class SwingConfig:
    kp: tuple[float, float, float] = (100.0, 100.0, 100.0)
    kd: tuple[float, float, float] = (1.5, 2.0, 2.0)
    velocity_feedback_gain: float = 0.05  # k_v, s
    max_foothold_offset_m: float = 0.18  # from the hip, horizontal
    lost_contact_reach_m: float = 0.05  # how far below the planned ground a foot searches
    lost_contact_speed_mps: float = 0.5
    # the swing aims this far below the estimated ground, so that a foot still moves down when it
    # reaches ground that is lower than estimated (past a crest); where the ground is as estimated
    # it touches down a little early and the early-contact rule starts its stance
    touchdown_depth_m: float = 0.0


@njit(cache=True)
def min_jerk(s):
    """Minimum-jerk blend and its derivative with respect to s."""
    return s**3 * (10 - 15 * s + 6 * s**2), 30 * s**2 * (1 - s) ** 2


@njit(cache=True)
def swing_bump(s):
    """Height profile 16 s^2 (1-s)^2 (1 at s = 0.5) and its derivative."""
    return 16 * s**2 * (1 - s) ** 2, 32 * s * (1 - s) * (1 - 2 * s)


@njit(cache=True)
def swing_trajectory_point(start, end, height, s, s_dot, position, velocity) -> None:
    """The foot's position and velocity (3,) at swing progress s (clipped to [0, 1]) moving at
    ds/dt = s_dot, written into ``position`` and ``velocity``: horizontal motion on a minimum-jerk
    profile from ``start`` to ``end``, plus a bump of ``height`` at mid-swing."""
    s = min(max(s, 0.0), 1.0)
    blend, d_blend = min_jerk(s)
    bump, d_bump = swing_bump(s)
    for i in range(3):
        position[i] = start[i] + (end[i] - start[i]) * blend
        velocity[i] = (end[i] - start[i]) * (d_blend * s_dot)
    position[2] += height * bump
    velocity[2] += height * d_bump * s_dot


@njit(cache=True)
def hips_at_touchdown_heading(position, yaw, yaw_rate, time_to_touchdown, nominal_feet):
    """(4, 3) the nominal foot points under the hips, turned with the commanded yaw rate until each
    leg's touchdown: position + Rz(yaw + w t) p_nominal (= Rz(yaw) Rz(w t) p_nominal)."""
    hips = np.empty((nominal_feet.shape[0], 3))
    for leg in range(nominal_feet.shape[0]):
        angle = yaw + yaw_rate * time_to_touchdown[leg]
        c, s = math.cos(angle), math.sin(angle)
        hips[leg, 0] = position[0] + (c * nominal_feet[leg, 0] - s * nominal_feet[leg, 1])
        hips[leg, 1] = position[1] + (s * nominal_feet[leg, 0] + c * nominal_feet[leg, 1])
        hips[leg, 2] = position[2] + nominal_feet[leg, 2]
    return hips


@njit(cache=True)
def raibert_footholds(
    hip_positions_world: np.ndarray,
    velocity_world: np.ndarray,
    command_velocity_world: np.ndarray,
    command_yaw_rate: float,
    stance_duration: float,
    time_to_touchdown: np.ndarray,
    base_height: float,
    velocity_gain: float,
    max_offset: float,
) -> np.ndarray:
    """(4, 2) horizontal touchdown points in the world frame."""
    # centripetal term 0.5 h/g (v x w): v x (0, 0, w) = (vy w, -vx w)
    offset = np.empty(2)
    offset[0] = (command_velocity_world[0] * stance_duration / 2
                 + velocity_gain * (velocity_world[0] - command_velocity_world[0])
                 + 0.5 * base_height / G * (velocity_world[1] * command_yaw_rate))
    offset[1] = (command_velocity_world[1] * stance_duration / 2
                 + velocity_gain * (velocity_world[1] - command_velocity_world[1])
                 + 0.5 * base_height / G * (-velocity_world[0] * command_yaw_rate))
    norm = math.sqrt(offset[0] * offset[0] + offset[1] * offset[1])
    if norm > max_offset:
        offset *= max_offset / norm
    out = np.empty((hip_positions_world.shape[0], 2))
    for leg in range(hip_positions_world.shape[0]):
        for i in range(2):  # hips at touchdown, moved with the commanded velocity
            out[leg, i] = hip_positions_world[leg, i] + command_velocity_world[i] * time_to_touchdown[leg] + offset[i]
    return out


@njit(cache=True)
def joint_velocity_target(jac: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(3,) joint velocities giving the foot velocity ``v`` (hip frame): J^-1 v.

    Least squares with singular values below 1e-3 of the largest cut off, as near a straight knee.
    Since s_min >= |det| / s_max^2 and s_max <= |J|_F, a Jacobian with |det| > 1e-3 |J|_F^3 has
    nothing to cut, and least squares is the plain solve (Cramer's rule): within the A1's joint
    limits the knee never straightens, so that is every tick."""
    columns = np.ascontiguousarray(jac.T)
    c0, c1, c2 = columns[0], columns[1], columns[2]
    x12, x20, x01 = np.cross(c1, c2), np.cross(c2, c0), np.cross(c0, c1)  # rows of det * J^-1
    det = c0 @ x12
    if abs(det) > 1e-3 * np.sum(jac * jac) ** 1.5:
        return np.array([v @ x12, v @ x20, v @ x01]) / det
    return np.linalg.lstsq(jac, v, rcond=1e-3)[0]


@njit(cache=True)
def swing_phase(swing, lost_contact, swing_progress, swing_duration, dt, position, rotation, feet_body, in_swing,
                liftoff_positions, liftoff_progress, reach_depth, reach_speed, reach_limit):
    """Per leg, the swing's bookkeeping for this tick, updating the state arrays in place.

    A leg entering its swing records where its foot lifts off (world) and at what progress (at most
    0.9); its trajectory progress runs from there, s = (progress - s0) / (1 - s0) in [0, 1], at
    ds/dt = 1 / (T_swing (1 - s0)). A leg that lost its ground reaches down at ``reach_speed`` up to
    ``reach_limit`` (depth back to zero once found). Returns (s, ds/dt, reaching, active): reaching
    legs are lost and not swinging; active ones get swing-leg torques."""
    n = swing.shape[0]
    s, s_dot = np.empty(n), np.empty(n)
    reaching, active = np.empty(n, np.bool_), np.empty(n, np.bool_)
    for leg in range(n):
        if swing[leg] and not in_swing[leg]:
            for i in range(3):
                liftoff_positions[leg, i] = position[i] + (feet_body[leg, 0] * rotation[i, 0]
                                                           + feet_body[leg, 1] * rotation[i, 1]
                                                           + feet_body[leg, 2] * rotation[i, 2])
            liftoff_progress[leg] = min(swing_progress[leg], 0.9)
        in_swing[leg] = swing[leg]
        s0 = liftoff_progress[leg]
        s[leg] = min(max((swing_progress[leg] - s0) / (1.0 - s0), 0.0), 1.0)
        s_dot[leg] = 1.0 / max(swing_duration, 1e-3) / (1.0 - s0)
        reach_depth[leg] = min(reach_depth[leg] + reach_speed * dt, reach_limit) if lost_contact[leg] else 0.0
        reaching[leg] = lost_contact[leg] and not swing[leg]
        active[leg] = swing[leg] or reaching[leg]
    return s, s_dot, reaching, active


@njit(cache=True)
def swing_leg_torques(
    rotation, position, velocity, omega_body, start, end, height, s, s_dot, reach_depth, reaching, active,
    hip_offsets, sides, l0, l1, l2, lower, upper, kp, kd, q, dq,
):
    """Joint torques (12,) of the legs in ``active`` (zero elsewhere) and joint targets (12,).

    Per leg: the foot target on its swing trajectory (world), or, for a leg ``reaching`` for lost
    ground, the foothold ``reach_depth`` below it at rest; into the trunk frame (position, and
    velocity relative to the moving trunk); inverse kinematics clipped to the joint limits; joint
    velocities through the target's Jacobian; joint PD with that feed-forward velocity."""
    torques = np.zeros(12)
    q_des = np.empty(12)
    target, target_vel = np.empty(3), np.empty(3)
    foot, jac = np.empty(3), np.empty((3, 3))
    for leg in range(4):
        if reaching[leg]:
            target[:] = end[leg]
            target[2] -= reach_depth[leg]
            target_vel[:] = 0.0
        else:
            swing_trajectory_point(start[leg], end[leg], height, s[leg], s_dot[leg], target, target_vel)
        p_body = (target - position) @ rotation
        v_body = (target_vel - velocity) @ rotation - np.cross(omega_body, p_body)
        p_hip = p_body - hip_offsets[leg]
        angles = kin.leg_inverse_kinematics(p_hip[0], p_hip[1], p_hip[2], sides[leg], l0, l1, l2)
        for i in range(3):
            j = 3 * leg + i
            q_des[j] = min(max(angles[i], lower[j]), upper[j])
        kin.leg_point_and_jacobian(q_des[3 * leg], q_des[3 * leg + 1], q_des[3 * leg + 2], sides[leg],
                                   l0, l1, l2, foot, jac)
        if active[leg]:
            dq_des = joint_velocity_target(jac, v_body)
            for i in range(3):
                j = 3 * leg + i
                torques[j] = kp[j] * (q_des[j] - q[j]) + kd[j] * (dq_des[i] - dq[j])
    return torques, q_des


class SwingLegController:
    def __init__(self, robot: RobotDescription, config: SwingConfig | None = None):
        self.robot = robot
        self.config = config or SwingConfig()
        self.kp = np.tile(self.config.kp, 4)
        self.kd = np.tile(self.config.kd, 4)
        self.geom = (robot.abduction_link_m, robot.thigh_length_m, robot.calf_length_m)
        self.lower, self.upper = robot.joint_limits
        # nominal foot position under each thigh joint, trunk frame
        self.nominal_feet = robot.hip_offsets + np.outer(robot.leg_sides, [0.0, robot.abduction_link_m, 0.0])
        self.reset()

    def reset(self) -> None:
        self.liftoff_positions = np.zeros((4, 3))
        self.liftoff_progress = np.zeros(4)
        self.in_swing = np.zeros(4, dtype=bool)
        self.footholds = np.zeros((4, 3))
        self.lost_contact_depth = np.zeros(4)

    def plan_footholds(
        self,
        state: EstimatedState,
        command_velocity_world: np.ndarray,
        yaw_rate: float,
        stance_duration: float,
        time_to_touchdown: np.ndarray,
        base_height: float,
        ground: GroundPlane | None = None,
    ) -> np.ndarray:
        """(4, 3) touchdown points (odometry frame; z: the foot's centre on ``ground``, the estimated
        plane, or on level ground at z = 0 without one)."""
        hips = hips_at_touchdown_heading(state.position, float(state.rpy[2]), yaw_rate,
                                         np.asarray(time_to_touchdown, dtype=float), self.nominal_feet)
        xy = raibert_footholds(
            hips, state.linear_velocity, command_velocity_world, yaw_rate, stance_duration,
            time_to_touchdown, base_height, self.config.velocity_feedback_gain,
            self.config.max_foothold_offset_m,
        )
        footholds = np.empty((4, 3))
        footholds[:, :2] = xy
        plane = ground if ground is not None else LEVEL_GROUND
        footholds[:, 2] = plane.height_at(xy[:, 0], xy[:, 1])
        footholds[:, 2] += self.robot.foot_radius_m / plane.normal_z - self.config.touchdown_depth_m
        self.footholds = footholds
        return footholds

    def update(
        self,
        state: EstimatedState,
        swing_mask: np.ndarray,
        swing_progress: np.ndarray,
        swing_duration: float,
        swing_height: float,
        lost_contact: np.ndarray,
        joint_positions: np.ndarray,
        joint_velocities: np.ndarray,
        dt: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Torques (12,) for legs in ``swing_mask`` (zeros elsewhere) and joint targets (12,)."""
        s, s_dot, reaching, active = swing_phase(
            swing_mask, np.asarray(lost_contact, dtype=bool), swing_progress, float(swing_duration), dt,
            state.position, state.rotation, state.foot_positions_body, self.in_swing, self.liftoff_positions,
            self.liftoff_progress, self.lost_contact_depth, self.config.lost_contact_speed_mps,
            self.config.lost_contact_reach_m)
        return swing_leg_torques(
            state.rotation, state.position, state.linear_velocity, state.angular_velocity_body,
            self.liftoff_positions, self.footholds, float(swing_height), s, s_dot, self.lost_contact_depth,
            reaching, active, self.robot.hip_offsets, self.robot.leg_sides, *self.geom,
            self.lower, self.upper, self.kp, self.kd, joint_positions, joint_velocities,
        )
