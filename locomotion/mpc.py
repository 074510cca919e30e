"""Convex model-predictive control of the ground reaction forces (after Di Carlo et al., 2018).

Model: the trunk as a single rigid body, dynamics linearised about the reference yaw so that they
are linear in the state and the foot forces:

    state x (13) = [roll, pitch, yaw, px, py, pz, wx, wy, wz, vx, vy, vz, g]   (world frame, g = -9.81)
    d/dt [roll, pitch, yaw] = Rz(yaw)^T w          (small roll and pitch)
    d/dt p = v
    d/dt w = I_w^-1 sum_i r_i x f_i,   I_w = Rz I_body Rz^T
    d/dt v = sum_i f_i / m + [0, 0, g]

discretised with forward Euler at ``dt`` over ``horizon_steps`` steps. The QP minimises
sum_k |x_k - x_ref,k|^2_Q + alpha |f_k|^2 subject to the dynamics, a four-sided friction pyramid
and normal-force bounds on feet in contact, and zero force on feet in swing.

On sloped ground (``locomotion.ground_plane``) the problem is stated relative to the estimated
ground: the friction pyramid is built on the ground's normal and its two tangents
(``MpcProblem.ground_frame``), and the reference (``reference_trajectory`` with a ground plane)
holds the trunk at the gait's height above the plane along its normal, climbing or descending with
it, with the attitude of a trunk lying parallel to it. Gravity stays the world's vertical vector:
in the ground's frame it has the component m g sin(slope) down the slope, which the stance forces
must hold against, and stating the dynamics in the world frame with the ground-relative cones
and reference is that same problem in other coordinates.

``solve_reference`` states the problem in cvxpy as the readable definition. ``ConvexMpc`` solves the
same problem every control tick with OSQP directly: the sparsity pattern is built once and only
the numbers are updated in place, and each solve warm-starts from the previous one.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import osqp
import scipy.sparse as sp
from numba import njit

from locomotion.ground_plane import GroundPlane, slope_attitudes
from locomotion.kinematics import rotation_z, skew

STATE_DIM = 13
OSQP_INFINITY = float(osqp.constant("OSQP_INFTY"))  # OSQP treats bounds beyond this as infinite
FORCE_DIM = 12
GRAVITY = -9.81
STATE_NAMES = ("roll", "pitch", "yaw", "px", "py", "pz", "wx", "wy", "wz", "vx", "vy", "vz", "g")


@dataclasses.dataclass(frozen=True)
class MpcConfig:
    horizon_steps: int = 10
    dt_s: float = 0.025
    solve_period_s: float = 0.01
    friction_coefficient: float = 0.6
    min_normal_force_n: float = 0.0
    max_normal_force_n: float = 180.0
    state_weights: tuple[float, ...] = (10.0, 10.0, 0.2, 0.0, 0.0, 50.0, 0.0, 0.0, 1.0, 3.0, 3.0, 1.0, 0.0)
    force_weight: float = 1e-5
    osqp_eps_abs: float = 1e-4
    osqp_eps_rel: float = 1e-4
    osqp_max_iter: int = 1000
    osqp_check_termination: int = 10  # iterations between convergence checks

    def __post_init__(self) -> None:
        if self.horizon_steps < 1:
            raise ValueError(f"horizon_steps: must be >= 1, got {self.horizon_steps}")
        if not 0.005 <= self.dt_s <= 0.1:
            raise ValueError(f"dt_s: must be in [0.005, 0.1], got {self.dt_s}")
        if len(self.state_weights) != STATE_DIM:
            raise ValueError(f"state_weights: need {STATE_DIM} values, got {len(self.state_weights)}")
        if any(w < 0 for w in self.state_weights):
            raise ValueError("state_weights: must be non-negative")
        if self.force_weight <= 0:
            raise ValueError("force_weight: must be positive")
        if not 0 < self.friction_coefficient <= 2:
            raise ValueError(f"friction_coefficient: must be in (0, 2], got {self.friction_coefficient}")
        if not 0 <= self.min_normal_force_n < self.max_normal_force_n:
            raise ValueError("min_normal_force_n/max_normal_force_n: need 0 <= min < max")


@dataclasses.dataclass
class MpcProblem:
    """Everything one solve needs. Arrays are in the world frame."""

    x0: np.ndarray  # (13,)
    x_ref: np.ndarray  # (H, 13) reference for x_1 .. x_H
    foot_positions: np.ndarray  # (H, 4, 3) feet relative to the centre of mass at each step
    contacts: np.ndarray  # (H, 4) bool, planned stance
    mass_kg: float
    inertia_body: np.ndarray  # (3, 3)
    # the ground's frame (columns: forward and left tangents, normal; world frame): the friction
    # pyramid and the normal-force bounds act along these axes. Identity on level ground.
    ground_frame: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(3))


@dataclasses.dataclass
class MpcSolution:
    forces: np.ndarray  # (H, 4, 3) ground reaction forces on the feet, world frame
    status: str
    solved: bool
    solve_time_s: float  # time inside the solver
    total_time_s: float  # including the matrix updates
    iterations: int


# --- model ------------------------------------------------------------------------------------
def continuous_dynamics(
    yaw: float, foot_positions: np.ndarray, mass: float, inertia_body: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A_c (13, 13) and B_c (13, 12) of the single-rigid-body model linearised at ``yaw``."""
    rz = rotation_z(yaw)
    a = np.zeros((STATE_DIM, STATE_DIM))
    a[0:3, 6:9] = rz.T
    a[3:6, 9:12] = np.eye(3)
    a[11, 12] = 1.0
    inv_inertia_world = np.linalg.inv(rz @ inertia_body @ rz.T)
    b = np.zeros((STATE_DIM, FORCE_DIM))
    for leg in range(4):
        b[6:9, 3 * leg: 3 * leg + 3] = inv_inertia_world @ skew(foot_positions[leg])
        b[9:12, 3 * leg: 3 * leg + 3] = np.eye(3) / mass
    return a, b


def discretize(a_c: np.ndarray, b_c: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward-Euler discretisation (the form the sparse QP encodes)."""
    return np.eye(a_c.shape[0]) + a_c * dt, b_c * dt


def friction_pyramid(mu: float, ground_frame: np.ndarray | None = None) -> np.ndarray:
    """(5, 3) rows acting on one foot force f (world frame): its normal component n.f, then
    (t1 - mu n).f, (-t1 - mu n).f, (t2 - mu n).f, (-t2 - mu n).f, with t1, t2, n the columns of
    ``ground_frame`` (default: level ground, where the rows are fz, fx - mu fz, -fx - mu fz, ...).
    Plain floats: it is built on every MPC solve."""
    frame = np.eye(3) if ground_frame is None else np.asarray(ground_frame, dtype=float)
    (t1x, t2x, nx), (t1y, t2y, ny), (t1z, t2z, nz) = frame.tolist()
    mnx, mny, mnz = mu * nx, mu * ny, mu * nz
    return np.array([[nx, ny, nz],
                     [t1x - mnx, t1y - mny, t1z - mnz], [-t1x - mnx, -t1y - mny, -t1z - mnz],
                     [t2x - mnx, t2y - mny, t2z - mnz], [-t2x - mnx, -t2y - mny, -t2z - mnz]])


def reference_trajectory(
    x0: np.ndarray,
    body_velocity: np.ndarray,
    yaw_rate: float,
    base_height: float,
    horizon_steps: int,
    dt: float,
    ground: GroundPlane | None = None,
) -> np.ndarray:
    """(H, 13) states for steps 1..H with the commanded planar twist: without ``ground``, a level
    trunk at z = ``base_height``; with it, a trunk parallel to the plane (``slope_attitudes`` at
    each step's yaw) at ``base_height`` above it along its normal, rising with it (z and vz follow
    the plane under the reference's path).

    ``body_velocity`` is (vx, vy) in the yaw-aligned body frame (horizontal); it turns with the
    reference yaw.
    """
    steps = np.arange(1, horizon_steps + 1)
    yaw = x0[2] + yaw_rate * steps * dt
    c, s = np.cos(yaw), np.sin(yaw)
    vx = c * body_velocity[0] - s * body_velocity[1]
    vy = s * body_velocity[0] + c * body_velocity[1]
    ref = np.zeros((horizon_steps, STATE_DIM))
    ref[:, 2] = yaw
    ref[:, 3] = x0[3] + np.cumsum(vx) * dt
    ref[:, 4] = x0[4] + np.cumsum(vy) * dt
    ref[:, 5] = base_height
    ref[:, 8] = yaw_rate
    ref[:, 9] = vx
    ref[:, 10] = vy
    ref[:, 12] = GRAVITY
    if ground is not None:
        ref[:, 5] = ground.height_at(ref[:, 3], ref[:, 4]) + base_height / ground.normal_z
        ref[:, 11] = ground.gx * vx + ground.gy * vy
        ref[:, 0], ref[:, 1] = slope_attitudes(ground, yaw, cos_sin=(c, s))
    return ref


@njit(cache=True)
def yaw_dependent_blocks(yaw_lin, foot_positions, inv_inertia_body, dt, force_scale):
    """The equality blocks that change every solve, in the sparse layout's order:
    -dt Rz(yaw_k)^T (the attitude rows of steps 1..H-1, (H-1, 3, 3)) and
    -dt * force_scale * I_w,k^-1 [r_k,leg]x with I_w^-1 = Rz I^-1 Rz^T (the angular rows of every
    step, (H, 3 rows, 4 legs, 3 columns))."""
    h = yaw_lin.shape[0]
    a_rot = np.empty((max(h - 1, 0), 3, 3))
    b_ang = np.empty((h, 3, foot_positions.shape[1], 3))
    rz, skew_r = np.zeros((3, 3)), np.zeros((3, 3))
    for k in range(h):
        c, s = math.cos(yaw_lin[k]), math.sin(yaw_lin[k])
        rz[0, 0], rz[0, 1], rz[1, 0], rz[1, 1], rz[2, 2] = c, -s, s, c, 1.0
        if k > 0:
            a_rot[k - 1] = -dt * rz.T
        inv_world = rz @ inv_inertia_body @ rz.T
        for leg in range(foot_positions.shape[1]):
            rx, ry, rzz = foot_positions[k, leg, 0], foot_positions[k, leg, 1], foot_positions[k, leg, 2]
            skew_r[0, 1], skew_r[0, 2] = -rzz, ry
            skew_r[1, 0], skew_r[1, 2] = rzz, -rx
            skew_r[2, 0], skew_r[2, 1] = -ry, rx
            b_ang[k, :, leg, :] = -dt * force_scale * (inv_world @ skew_r)
    return a_rot, b_ang


@njit(cache=True)
def first_step_prediction(x0: np.ndarray, dt: float) -> np.ndarray:
    """A_0 x0 = x0 + dt A_c(yaw_0) x0: the force-free part of the first step's dynamics.

    With A_c as in ``continuous_dynamics``: d(rpy)/dt = Rz(yaw)^T w, d(p)/dt = v, d(vz)/dt = g."""
    c, s = math.cos(x0[2]), math.sin(x0[2])
    wx, wy, wz = x0[6], x0[7], x0[8]
    rate = np.zeros(x0.shape[0])
    rate[0], rate[1], rate[2] = c * wx + s * wy, -s * wx + c * wy, wz
    rate[3:6] = x0[9:12]
    rate[11] = x0[12]
    return x0 + dt * rate


@njit(cache=True)
def fill_qp_data(x0, x_ref, foot_positions, contacts, inv_inertia_body, dt, force_scale, values, a_rot_slots,
                 b_ang_slots, cone, cone_slots, perm, lower, upper, fz_rows, min_fz, max_fz, q, minus_two_weights):
    """One solve's numbers into the sparse QP: the constraint matrix's values in OSQP's order (returned;
    ``values`` holds them in build order, the friction pyramid ``cone`` (5, 3) on every foot and
    step), the first step's force-free prediction as the first equality bounds, the normal-force
    bounds (zero for feet planned in swing) and the linear cost -2 Q x_ref. ``lower``, ``upper`` and
    ``q`` are filled in place."""
    h = x_ref.shape[0]
    flat_cone = cone.ravel()
    for i in range(cone_slots.shape[0]):
        values[cone_slots[i]] = flat_cone[i % 15]
    yaw_lin = np.empty(h)  # the yaw the dynamics of step k are linearised at
    yaw_lin[0] = x0[2]
    yaw_lin[1:] = x_ref[:-1, 2]
    a_rot, b_ang = yaw_dependent_blocks(yaw_lin, foot_positions, inv_inertia_body, dt, force_scale)
    values[a_rot_slots] = a_rot.ravel()
    values[b_ang_slots] = b_ang.ravel()
    ax = values[perm]
    n = x0.shape[0]
    lower[:n] = upper[:n] = first_step_prediction(x0, dt)
    for i in range(fz_rows.shape[0]):
        lower[fz_rows[i]] = min_fz if contacts[i] else 0.0
        upper[fz_rows[i]] = max_fz if contacts[i] else 0.0
    for k in range(h):
        for j in range(n):
            q[k * n + j] = minus_two_weights[j] * x_ref[k, j]
    return ax


# --- reference formulation -------------------------------------------------------------------
def solve_reference(problem: MpcProblem, config: MpcConfig, solver: str = "CLARABEL") -> np.ndarray:
    """The MPC as a readable cvxpy program; returns forces (H, 4, 3). Slow: for tests and docs."""
    import cvxpy as cp

    horizon, dt, mu = config.horizon_steps, config.dt_s, config.friction_coefficient
    x = cp.Variable((horizon + 1, STATE_DIM))
    f = cp.Variable((horizon, FORCE_DIM))
    q_diag = np.array(config.state_weights)
    constraints = [x[0] == problem.x0]
    cost = 0
    for k in range(horizon):
        a_c, b_c = continuous_dynamics(
            problem.x_ref[k - 1, 2] if k > 0 else problem.x0[2],
            problem.foot_positions[k],
            problem.mass_kg,
            problem.inertia_body,
        )
        a_d, b_d = discretize(a_c, b_c, dt)
        constraints.append(x[k + 1] == a_d @ x[k] + b_d @ f[k])
        cost += cp.sum(cp.multiply(q_diag, cp.square(x[k + 1] - problem.x_ref[k])))
        cost += config.force_weight * cp.sum_squares(f[k])
        t1, t2, n = np.asarray(problem.ground_frame, dtype=float).T
        for leg in range(4):
            force = f[k, 3 * leg: 3 * leg + 3]
            normal = n @ force
            if problem.contacts[k, leg]:
                constraints += [
                    normal >= config.min_normal_force_n,
                    normal <= config.max_normal_force_n,
                    cp.abs(t1 @ force) <= mu * normal,
                    cp.abs(t2 @ force) <= mu * normal,
                ]
            else:
                constraints.append(f[k, 3 * leg: 3 * leg + 3] == 0)
    prob = cp.Problem(cp.Minimize(cost), constraints)
    prob.solve(solver=solver)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"reference MPC not solved: {prob.status}")
    return np.asarray(f.value).reshape(horizon, 4, 3)


# --- fast path ----------------------------------------------------------------------------------
class ConvexMpc:
    """The same QP as ``solve_reference``, in sparse form (states and forces both variables),
    solved with OSQP. Forces are scaled by m*g inside the QP for conditioning."""

    def __init__(self, config: MpcConfig, mass_kg: float, inertia_body: np.ndarray):
        self.config = config
        self.mass = mass_kg
        self.inertia_body = np.asarray(inertia_body, dtype=float)
        self.force_scale = mass_kg * abs(GRAVITY)
        self._build()

    # Variable layout: z = [x_1 .. x_H (13 each), u_0 .. u_{H-1} (12 each)], u = f / force_scale.
    def _build(self) -> None:
        cfg, h = self.config, self.config.horizon_steps
        dt = cfg.dt_s
        nx, nu = STATE_DIM * h, FORCE_DIM * h
        self.n_vars = nx + nu
        rows, cols, vals = [], [], []
        self._slots: dict[str, np.ndarray] = {}

        def add(name, r, c, v):
            start = sum(len(x) for x in rows)
            rows.append(np.asarray(r, dtype=int).ravel())
            cols.append(np.asarray(c, dtype=int).ravel())
            vals.append(np.broadcast_to(np.asarray(v, dtype=float), rows[-1].shape).copy())
            self._slots[name] = np.arange(start, start + rows[-1].size)

        ui = lambda k: nx + FORCE_DIM * k
        # Equality block k: x_{k+1} - A_k x_k - B_k u_k = (A_0 x0 if k == 0 else 0)
        eye_r = np.concatenate([STATE_DIM * k + np.arange(STATE_DIM) for k in range(h)])
        add("x_next", eye_r, eye_r, 1.0)
        if h > 1:
            ks = np.arange(1, h)
            # -A_k = -(I + A_c dt): diagonal
            r = (STATE_DIM * ks[:, None] + np.arange(STATE_DIM)).ravel()
            c = (STATE_DIM * (ks[:, None] - 1) + np.arange(STATE_DIM)).ravel()
            add("a_diag", r, c, -1.0)
            # -dt Rz^T in rows 0:3, cols 6:9 (updated per solve)
            rr, cc = np.meshgrid(np.arange(3), np.arange(6, 9), indexing="ij")
            r = (STATE_DIM * ks[:, None, None] + rr).reshape(-1)
            c = (STATE_DIM * (ks[:, None, None] - 1) + cc).reshape(-1)
            add("a_rot", r, c, 1.0)
            r = (STATE_DIM * ks[:, None] + np.arange(3, 6)).ravel()
            c = (STATE_DIM * (ks[:, None] - 1) + np.arange(9, 12)).ravel()
            add("a_pos", r, c, -dt)
            add("a_grav", STATE_DIM * ks + 11, STATE_DIM * (ks - 1) + 12, -dt)
        # -B_k: angular rows 6:9 x each foot's 3 columns (updated), linear rows 9:12 (constant)
        ks = np.arange(h)
        rr, cc = np.meshgrid(np.arange(6, 9), np.arange(FORCE_DIM), indexing="ij")
        r = (STATE_DIM * ks[:, None, None] + rr).reshape(-1)
        c = (ui(0) + FORCE_DIM * ks[:, None, None] + cc).reshape(-1)
        add("b_ang", r, c, 1.0)
        lin_r = np.tile(np.arange(9, 12), 4)
        lin_c = np.arange(FORCE_DIM)
        r = (STATE_DIM * ks[:, None] + lin_r).ravel()
        c = (ui(0) + FORCE_DIM * ks[:, None] + lin_c).ravel()
        add("b_lin", r, c, -dt * self.force_scale / self.mass)
        # Friction pyramid rows: 5 per foot per step, each on all 3 force components (the ground's
        # frame turns them; on level ground 7 of the 15 are zero, kept as structural entries)
        cone = friction_pyramid(cfg.friction_coefficient)
        n_eq = STATE_DIM * h
        self.n_eq = n_eq
        cr, cc = np.divmod(np.arange(15), 3)
        foot_step = np.arange(4 * h)  # index over (k, leg)
        r = (n_eq + 5 * foot_step[:, None] + cr).ravel()
        c = (ui(0) + 3 * foot_step[:, None] + cc).ravel()
        add("cone", r, c, np.tile(cone.ravel(), 4 * h))
        self.n_cons = n_eq + 5 * 4 * h

        all_r, all_c = np.concatenate(rows), np.concatenate(cols)
        self._values = np.concatenate(vals)
        slot_ids = np.arange(1, all_r.size + 1, dtype=float)
        pattern = sp.csc_matrix((slot_ids, (all_r, all_c)), shape=(self.n_cons, self.n_vars))
        if pattern.nnz != all_r.size:
            raise AssertionError("MPC sparsity pattern has duplicate entries")
        pattern.sort_indices()
        self._perm = pattern.data.astype(int) - 1
        a_mat = pattern.copy()
        a_mat.data = self._values[self._perm]
        self._a_template = a_mat

        weights = np.array(cfg.state_weights)
        p_diag = np.concatenate(
            [np.tile(2.0 * weights, h), np.full(nu, 2.0 * cfg.force_weight * self.force_scale**2)]
        )
        self._p_diag = p_diag
        p_mat = sp.diags(p_diag).tocsc()
        self._l = np.zeros(self.n_cons)
        self._u = np.zeros(self.n_cons)
        self._l[n_eq:] = -OSQP_INFINITY
        self._u[n_eq:] = 0.0
        self._fz_rows = n_eq + 5 * foot_step  # the fz row of each (k, leg)
        self._solver = osqp.OSQP()
        self._solver.setup(
            p_mat, np.zeros(self.n_vars), a_mat, self._l, self._u,
            eps_abs=cfg.osqp_eps_abs, eps_rel=cfg.osqp_eps_rel, max_iter=cfg.osqp_max_iter,
            check_termination=cfg.osqp_check_termination,
            warm_starting=True, polishing=False, verbose=False, adaptive_rho=True,
            adaptive_rho_interval=25,  # fixed, not timing-based, so solves are reproducible
        )
        self._last_forces = None
        self._core = self._solver._solver  # osqp 1.1's extension-level solver (see ``solve``)
        self._inv_inertia_body = np.linalg.inv(self.inertia_body)
        self._minus_two_weights = -2.0 * weights
        self._a_rot_slots = self._slots.get("a_rot", np.zeros(0, dtype=np.int64))  # none with one step
        self._q = np.zeros(self.n_vars)

    def _fill(self, problem: MpcProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        cfg = self.config
        ax = fill_qp_data(
            np.ascontiguousarray(problem.x0, dtype=float), np.ascontiguousarray(problem.x_ref, dtype=float),
            np.ascontiguousarray(problem.foot_positions, dtype=float),
            np.ascontiguousarray(problem.contacts, dtype=np.bool_).reshape(-1), self._inv_inertia_body,
            cfg.dt_s, self.force_scale, self._values, self._a_rot_slots, self._slots["b_ang"],
            friction_pyramid(cfg.friction_coefficient, problem.ground_frame), self._slots["cone"], self._perm,
            self._l, self._u, self._fz_rows, cfg.min_normal_force_n / self.force_scale,
            cfg.max_normal_force_n / self.force_scale, self._q, self._minus_two_weights)
        return ax, self._q, self._l, self._u

    def solve(self, problem: MpcProblem) -> MpcSolution:
        start = time.perf_counter()
        ax, q, lower, upper = self._fill(problem)
        # the extension's solver directly: osqp's Python wrapper (``OSQP.update`` / ``OSQP.solve``)
        # copies and clamps the vectors and packs every info field into a new namespace on each
        # call, ~0.1 ms of a 0.3 ms solve; the bounds here are already finite (OSQP_INFINITY)
        core = self._core
        core.update_data_vec(q=q, l=lower, u=upper)
        core.update_data_mat(P_x=None, P_i=None, A_x=ax, A_i=None)
        core.solve()
        info, x = core.info, core.solution.x
        total = time.perf_counter() - start
        # OSQP status 1: solved; 2: solved to the reduced "inaccurate" tolerance, still usable
        solved = info.status_val in (1, 2) and x is not None and bool(np.isfinite(x).all())
        h = self.config.horizon_steps
        if solved:
            forces = x[STATE_DIM * h:].reshape(h, 4, 3) * self.force_scale
        else:
            forces = np.full((h, 4, 3), np.nan)
        return MpcSolution(
            forces=forces,
            status=str(info.status),
            solved=bool(solved),
            solve_time_s=float(info.solve_time + info.update_time),
            total_time_s=total,
            iterations=int(info.iter),
        )
