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

import numpy as np

from locomotion import kinematics as kin
from locomotion.robot_model import RobotDescription
from locomotion.robot_state import EstimatedState

G = 9.81


@dataclasses.dataclass(frozen=True)
class SwingConfig:
    kp: tuple[float, float, float] = (100.0, 100.0, 100.0)
    kd: tuple[float, float, float] = (1.5, 2.0, 2.0)
    velocity_feedback_gain: float = 0.05  # k_v, s
    max_foothold_offset_m: float = 0.18  # from the hip, horizontal
    lost_contact_reach_m: float = 0.05  # how far below the planned ground a foot searches
    lost_contact_speed_mps: float = 0.5


def min_jerk(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-jerk blend and its derivative with respect to s."""
    return s**3 * (10 - 15 * s + 6 * s**2), 30 * s**2 * (1 - s) ** 2


def swing_bump(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Height profile 16 s^2 (1-s)^2 (1 at s = 0.5) and its derivative."""
    return 16 * s**2 * (1 - s) ** 2, 32 * s * (1 - s) * (1 - 2 * s)


def swing_trajectory(
    start: np.ndarray, end: np.ndarray, height: float, s: np.ndarray, s_dot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Foot positions and velocities (n, 3) at swing progress s (n,) moving at ds/dt = s_dot."""
    s = np.clip(s, 0.0, 1.0)
    blend, d_blend = min_jerk(s)
    bump, d_bump = swing_bump(s)
    pos = start + (end - start) * blend[:, None]
    vel = (end - start) * (d_blend * s_dot)[:, None]
    pos[:, 2] += height * bump
    vel[:, 2] += height * d_bump * s_dot
    return pos, vel


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
    hips_at_td = hip_positions_world[:, :2] + command_velocity_world[None, :2] * time_to_touchdown[:, None]
    offset = (
        command_velocity_world[:2] * stance_duration / 2
        + velocity_gain * (velocity_world[:2] - command_velocity_world[:2])
    )
    # centripetal term 0.5 h/g (v x w): v x (0, 0, w) = (vy w, -vx w)
    centripetal = 0.5 * base_height / G * np.array(
        [velocity_world[1] * command_yaw_rate, -velocity_world[0] * command_yaw_rate]
    )
    offset = offset + centripetal
    norm = np.linalg.norm(offset)
    if norm > max_offset:
        offset = offset * (max_offset / norm)
    return hips_at_td + offset[None, :]


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
        ground_height: float,
    ) -> np.ndarray:
        """(4, 3) world touchdown points (z: foot centre on the ground)."""
        yaw_rot = kin.rotation_z(state.yaw)
        # hips rotate with the commanded yaw rate until touchdown
        hips = np.empty((4, 3))
        for leg in range(4):
            turn = kin.rotation_z(yaw_rate * time_to_touchdown[leg])
            hips[leg] = state.position + yaw_rot @ turn @ self.nominal_feet[leg]
        xy = raibert_footholds(
            hips, state.linear_velocity, command_velocity_world, yaw_rate, stance_duration,
            time_to_touchdown, base_height, self.config.velocity_feedback_gain,
            self.config.max_foothold_offset_m,
        )
        footholds = np.empty((4, 3))
        footholds[:, :2] = xy
        footholds[:, 2] = ground_height + self.robot.foot_radius_m
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
        feet_world = state.foot_positions_world()
        new_swing = swing_mask & ~self.in_swing
        self.liftoff_positions[new_swing] = feet_world[new_swing]
        self.liftoff_progress[new_swing] = np.minimum(swing_progress[new_swing], 0.9)
        self.in_swing = swing_mask.copy()

        s0 = self.liftoff_progress
        s = np.clip((swing_progress - s0) / (1.0 - s0), 0.0, 1.0)
        s_dot = 1.0 / max(swing_duration, 1e-3) / (1.0 - s0)
        targets, target_vel = swing_trajectory(self.liftoff_positions, self.footholds, swing_height, s, s_dot)

        # lost contact: keep reaching down at the foothold until the ground is found
        self.lost_contact_depth = np.where(
            lost_contact,
            np.minimum(self.lost_contact_depth + self.config.lost_contact_speed_mps * dt,
                       self.config.lost_contact_reach_m),
            0.0,
        )
        reaching = lost_contact & ~swing_mask
        down = np.array([0.0, 0.0, 1.0]) * self.lost_contact_depth[reaching, None]
        targets[reaching] = self.footholds[reaching] - down
        target_vel[reaching] = 0.0
        active = swing_mask | reaching

        rot = state.rotation
        p_body = (targets - state.position) @ rot
        v_body = (target_vel - state.linear_velocity) @ rot - np.cross(state.angular_velocity_body, p_body)
        p_hip = p_body - self.robot.hip_offsets
        q_des = kin.inverse_kinematics(p_hip, self.robot.leg_sides, *self.geom).reshape(-1)
        q_des = np.clip(q_des, self.lower, self.upper)
        jac = kin.leg_jacobians(q_des.reshape(4, 3), self.robot.leg_sides, *self.geom)
        dq_des = np.zeros((4, 3))
        for leg in np.nonzero(active)[0]:
            dq_des[leg] = np.linalg.lstsq(jac[leg], v_body[leg], rcond=1e-3)[0]
        dq_des = dq_des.reshape(-1)
        torques = self.kp * (q_des - joint_positions) + self.kd * (dq_des - joint_velocities)
        mask = np.repeat(active, 3)
        return np.where(mask, torques, 0.0), q_des
