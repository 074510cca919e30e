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
    s = np.minimum(np.maximum(s, 0.0), 1.0)
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


def joint_velocity_targets(jacobians: np.ndarray, foot_velocities: np.ndarray) -> np.ndarray:
    """(4, 3) joint velocities giving ``foot_velocities`` (4, 3, hip frame): J^-1 v per leg.

    Least squares with singular values below 1e-3 of the largest cut off, as near a straight knee.
    Since s_min >= |det| / s_max^2 and s_max <= |J|_F, a Jacobian with |det| > 1e-3 |J|_F^3 has
    nothing to cut, and least squares is the plain solve: within the A1's joint limits the knee
    never straightens, so that is every tick, as one batched 3 x 3 solve."""
    det = np.linalg.det(jacobians)
    if np.all(np.abs(det) > 1e-3 * np.sum(jacobians * jacobians, axis=(1, 2)) ** 1.5):
        return np.linalg.solve(jacobians, foot_velocities[:, :, None])[:, :, 0]
    return np.stack([np.linalg.lstsq(j, v, rcond=1e-3)[0] for j, v in zip(jacobians, foot_velocities)])


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
        # hips rotate with the commanded yaw rate until touchdown: Rz(yaw) Rz(w t) = Rz(yaw + w t)
        angle = state.yaw + yaw_rate * np.asarray(time_to_touchdown, dtype=float)
        c, s = np.cos(angle), np.sin(angle)
        nominal = self.nominal_feet
        hips = np.empty((4, 3))
        hips[:, 0] = c * nominal[:, 0] - s * nominal[:, 1]
        hips[:, 1] = s * nominal[:, 0] + c * nominal[:, 1]
        hips[:, 2] = nominal[:, 2]
        hips += state.position
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
        new_swing = swing_mask & ~self.in_swing
        if new_swing.any():
            feet_world = state.foot_positions_world()
            self.liftoff_positions[new_swing] = feet_world[new_swing]
            self.liftoff_progress[new_swing] = np.minimum(swing_progress[new_swing], 0.9)
        self.in_swing = swing_mask.copy()

        s0 = self.liftoff_progress
        s = np.minimum(np.maximum((swing_progress - s0) / (1.0 - s0), 0.0), 1.0)
        s_dot = 1.0 / max(swing_duration, 1e-3) / (1.0 - s0)
        targets, target_vel = swing_trajectory(self.liftoff_positions, self.footholds, swing_height, s, s_dot)

        # lost contact: keep reaching down at the foothold until the ground is found
        reaching = lost_contact & ~swing_mask
        if lost_contact.any():
            self.lost_contact_depth = np.where(
                lost_contact,
                np.minimum(self.lost_contact_depth + self.config.lost_contact_speed_mps * dt,
                           self.config.lost_contact_reach_m),
                0.0,
            )
            if reaching.any():
                targets[reaching] = self.footholds[reaching]
                targets[reaching, 2] -= self.lost_contact_depth[reaching]
                target_vel[reaching] = 0.0
        elif self.lost_contact_depth.any():
            self.lost_contact_depth = np.zeros(4)
        active = swing_mask | reaching

        rot = state.rotation
        p_body = (targets - state.position) @ rot
        v_body = (target_vel - state.linear_velocity) @ rot - p_body @ kin.skew(state.angular_velocity_body).T
        p_hip = p_body - self.robot.hip_offsets
        q_des = kin.inverse_kinematics(p_hip, self.robot.leg_sides, *self.geom).reshape(-1)
        q_des = np.minimum(np.maximum(q_des, self.lower), self.upper)
        jac = kin.leg_jacobians(q_des.reshape(4, 3), self.robot.leg_sides, *self.geom)
        dq_des = np.where(active[:, None], joint_velocity_targets(jac, v_body), 0.0).reshape(-1)
        torques = self.kp * (q_des - joint_positions) + self.kd * (dq_des - joint_velocities)
        mask = np.repeat(active, 3)
        return np.where(mask, torques, 0.0), q_des
