"""Stance-leg control: set up the convex MPC from the estimated state, the command and the gait
schedule, solve it at the MPC rate, and map the forces to joint torques tau = -J^T R^T f.

With ``terrain_aware`` (the default) the problem is stated relative to the estimated ground plane
(``EstimatedState.ground``): reference height and attitude follow it, the friction pyramid stands on
its normal, and the feet's positions relative to the centre of mass along the horizon account for
the trunk rising or sinking with the ground. Without it, the ground is taken as level."""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from locomotion.ground_plane import ground_frame
from locomotion.mpc import GRAVITY, ConvexMpc, MpcConfig, MpcProblem, MpcSolution, reference_trajectory
from locomotion.robot_model import RobotDescription
from locomotion.robot_state import EstimatedState


@njit(cache=True)
def forces_to_torques(forces: np.ndarray, rotation: np.ndarray, jacobians: np.ndarray) -> np.ndarray:
    """(12,) joint torques producing ground reaction forces ``forces`` (4, 3, world frame) on the feet.

    The leg pushes on the ground with -f; in the trunk frame that is -R^T f, and tau = J^T (-R^T f).
    """
    torques = np.empty(12)
    for leg in range(4):
        body_force = forces[leg] @ rotation  # R^T f
        for j in range(3):
            torques[3 * leg + j] = -(jacobians[leg, 0, j] * body_force[0] + jacobians[leg, 1, j] * body_force[1]
                                     + jacobians[leg, 2, j] * body_force[2])
    return torques


def mpc_state(state: EstimatedState, com_offset_world: np.ndarray) -> np.ndarray:
    x = np.zeros(13)
    x[0:3] = state.rpy
    x[3:6] = state.position + com_offset_world
    x[6:9] = state.angular_velocity
    x[9:12] = state.linear_velocity
    x[12] = GRAVITY
    return x


@dataclasses.dataclass
class StanceOutput:
    torques: np.ndarray  # (12,)
    forces: np.ndarray  # (4, 3) world frame
    solution: MpcSolution | None  # set on ticks where the MPC was solved


class StanceLegController:
    def __init__(self, robot: RobotDescription, config: MpcConfig, terrain_aware: bool = True):
        self.robot = robot
        self.config = config
        self.terrain_aware = terrain_aware
        self.mpc = ConvexMpc(config, robot.mass_kg, robot.inertia)
        self.com_offset = np.array(robot.com_offset_m)
        self.reset()

    def reset(self) -> None:
        self.last_solve_time = -np.inf
        self.forces = np.zeros((self.config.horizon_steps, 4, 3))
        self.last_good_time = -np.inf

    def build_problem(
        self,
        state: EstimatedState,
        body_velocity: np.ndarray,
        yaw_rate: float,
        base_height: float,
        contacts: np.ndarray,
        footholds_world: np.ndarray,
    ) -> MpcProblem:
        cfg = self.config
        com_world = state.rotation @ self.com_offset
        x0 = mpc_state(state, com_world)
        ground = state.ground if self.terrain_aware else None
        x_ref = reference_trajectory(x0, body_velocity, yaw_rate, base_height + com_world[2],
                                     cfg.horizon_steps, cfg.dt_s, ground)
        # feet relative to the current CoM: planted feet where they are, swinging feet at their foothold
        feet_now = state.foot_positions_body @ state.rotation.T - com_world
        footholds_rel = footholds_world - (state.position + com_world)
        in_stance_now = contacts[0]
        anchor = np.where(in_stance_now[:, None], feet_now, footholds_rel)
        displacement = x_ref[:, 3:6] - x0[3:6]
        # the trunk is planned to move with the ground's rise, not to correct its height error here
        displacement[:, 2] = 0.0 if ground is None else ground.gx * displacement[:, 0] + ground.gy * displacement[:, 1]
        foot_positions = anchor[None, :, :] - displacement[:, None, :]
        frame = np.eye(3) if ground is None else ground_frame(ground, float(x0[2]))
        return MpcProblem(x0, x_ref, foot_positions, contacts, self.robot.mass_kg, self.robot.inertia, frame)

    def solve_due(self, t: float) -> bool:
        return t - self.last_solve_time >= self.config.solve_period_s - 1e-9

    def update(
        self,
        t: float,
        state: EstimatedState,
        stance: np.ndarray,
        plan=None,
    ) -> StanceOutput:
        """Forces and torques for the legs in ``stance`` from the current plan. ``plan``, given on
        the ticks the MPC is to be re-solved (``solve_due``, or a contact change), holds
        ``build_problem``'s arguments after ``state``: (body velocity, yaw rate, base height, contact
        schedule, footholds).

        On a failed solve the previous plan is kept (``solution.solved`` is False so the caller
        can count and time out)."""
        solution = None
        if plan is not None:
            problem = self.build_problem(state, *plan)
            solution = self.mpc.solve(problem)
            self.last_solve_time = t
            if solution.solved:
                self.forces = solution.forces
                self.last_good_time = t
        forces = np.where(stance[:, None], self.forces[0], 0.0)
        torques = forces_to_torques(forces, state.rotation, state.jacobians)
        return StanceOutput(torques, forces, solution)
