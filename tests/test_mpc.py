"""Convex MPC: model matrices, the OSQP fast path against the cvxpy reference, constraint satisfaction."""

import dataclasses

import numpy as np
import pytest

from locomotion import kinematics as kin
from locomotion.mpc import (
    GRAVITY,
    STATE_DIM,
    ConvexMpc,
    MpcConfig,
    MpcProblem,
    continuous_dynamics,
    discretize,
    friction_pyramid,
    reference_trajectory,
    solve_reference,
)
from locomotion.robot_model import load_robot

ROBOT = load_robot("a1")
CONFIG = MpcConfig()
FEET = np.array([[0.18, -0.13, -0.27], [0.18, 0.13, -0.27], [-0.18, -0.13, -0.27], [-0.18, 0.13, -0.27]])


def random_problem(seed, config=CONFIG, duty=0.6):
    rng = np.random.default_rng(seed)
    h = config.horizon_steps
    x0 = np.zeros(STATE_DIM)
    x0[0:2] = 0.05 * rng.standard_normal(2)
    x0[2] = rng.uniform(-np.pi, np.pi)
    x0[3:5] = rng.uniform(-5, 5, 2)
    x0[5] = 0.28 + 0.02 * rng.standard_normal()
    x0[6:9] = 0.3 * rng.standard_normal(3)
    x0[9:12] = 0.5 * rng.standard_normal(3)
    x0[12] = GRAVITY
    ref = reference_trajectory(x0, rng.uniform(-1, 1.5, 2), rng.uniform(-1, 1), 0.28, h, config.dt_s)
    feet = FEET[None] + 0.03 * rng.standard_normal((h, 4, 3))
    phases = (rng.uniform() + np.array([0, 0.5, 0.5, 0])[None] + 2.5 * config.dt_s * np.arange(h)[:, None]) % 1
    return MpcProblem(x0, ref, feet, phases < duty, ROBOT.mass_kg, ROBOT.inertia)


def test_continuous_dynamics_against_hand_derivation():
    yaw = 0.7
    a, b = continuous_dynamics(yaw, FEET, ROBOT.mass_kg, ROBOT.inertia)
    rz = kin.rotation_z(yaw)
    np.testing.assert_allclose(a[0:3, 6:9], rz.T)
    np.testing.assert_allclose(a[3:6, 9:12], np.eye(3))
    assert a[11, 12] == 1.0 and np.count_nonzero(a) == 5 + 3 + 1  # Rz^T (5) + I (3) + gravity
    inertia_world = rz @ ROBOT.inertia @ rz.T
    f = np.random.default_rng(0).normal(size=12)
    forces = f.reshape(4, 3)
    torque = sum(np.cross(FEET[i], forces[i]) for i in range(4))
    np.testing.assert_allclose(b[6:9] @ f, np.linalg.solve(inertia_world, torque))
    np.testing.assert_allclose(b[9:12] @ f, forces.sum(axis=0) / ROBOT.mass_kg)


def test_discretization_is_forward_euler():
    a, b = continuous_dynamics(0.0, FEET, ROBOT.mass_kg, ROBOT.inertia)
    ad, bd = discretize(a, b, 0.025)
    np.testing.assert_allclose(ad, np.eye(13) + 0.025 * a)
    np.testing.assert_allclose(bd, 0.025 * b)


def test_reference_trajectory_integrates_the_twist():
    x0 = np.zeros(13)
    x0[2] = 0.3
    ref = reference_trajectory(x0, np.array([1.0, 0.0]), 0.0, 0.28, 10, 0.025)
    np.testing.assert_allclose(ref[-1, 3:5], 0.25 * np.array([np.cos(0.3), np.sin(0.3)]))
    np.testing.assert_allclose(ref[:, 5], 0.28)
    assert np.all(ref[:, 12] == GRAVITY)


@pytest.mark.parametrize("seed", range(6))
def test_osqp_fast_path_matches_cvxpy_reference(seed):
    problem = random_problem(seed)
    fast = ConvexMpc(CONFIG, ROBOT.mass_kg, ROBOT.inertia).solve(problem)
    assert fast.solved, fast.status
    reference = solve_reference(problem, CONFIG)
    # first-step forces are what reach the motors: within 1 N (robot weight is 122 N)
    np.testing.assert_allclose(fast.forces[0], reference[0], atol=1.0)
    np.testing.assert_allclose(fast.forces, reference, atol=3.0)


def test_fast_path_obeys_the_dynamics_it_encodes():
    """Reconstruct the states from OSQP's solution and check them against A_d, B_d built here."""
    problem = random_problem(11)
    mpc = ConvexMpc(CONFIG, ROBOT.mass_kg, ROBOT.inertia)
    sol = mpc.solve(problem)
    h = CONFIG.horizon_steps
    x = mpc._solver.solve(raise_error=False).x[: STATE_DIM * h].reshape(h, STATE_DIM)
    prev = problem.x0
    for k in range(h):
        yaw = problem.x0[2] if k == 0 else problem.x_ref[k - 1, 2]
        ad, bd = discretize(*continuous_dynamics(yaw, problem.foot_positions[k], ROBOT.mass_kg, ROBOT.inertia),
                            CONFIG.dt_s)
        np.testing.assert_allclose(x[k], ad @ prev + bd @ sol.forces[k].reshape(-1), atol=2e-2)
        prev = x[k]


@pytest.mark.parametrize("seed", range(20))
def test_solved_forces_respect_friction_cone_and_contacts(seed):
    problem = random_problem(seed)
    sol = ConvexMpc(CONFIG, ROBOT.mass_kg, ROBOT.inertia).solve(problem)
    assert sol.solved
    mu, tol = CONFIG.friction_coefficient, 0.5  # N; OSQP's tolerance is 1e-4 of m g-scaled units
    f = sol.forces
    stance = problem.contacts
    assert np.all(np.abs(f[~stance]) < tol), "swing feet must carry no force"
    fx, fy, fz = f[..., 0][stance], f[..., 1][stance], f[..., 2][stance]
    assert np.all(fz >= CONFIG.min_normal_force_n - tol)
    assert np.all(fz <= CONFIG.max_normal_force_n + tol)
    assert np.all(np.abs(fx) <= mu * fz + tol)
    assert np.all(np.abs(fy) <= mu * fz + tol)


def test_standing_still_carries_the_weight():
    h = CONFIG.horizon_steps
    x0 = np.zeros(13)
    x0[5], x0[12] = 0.28, GRAVITY
    ref = reference_trajectory(x0, np.zeros(2), 0.0, 0.28, h, CONFIG.dt_s)
    problem = MpcProblem(x0, ref, np.broadcast_to(FEET, (h, 4, 3)).copy(), np.ones((h, 4), bool),
                         ROBOT.mass_kg, ROBOT.inertia)
    sol = ConvexMpc(CONFIG, ROBOT.mass_kg, ROBOT.inertia).solve(problem)
    np.testing.assert_allclose(sol.forces[0, :, 2].sum(), ROBOT.mass_kg * 9.81, rtol=0.02)
    np.testing.assert_allclose(sol.forces[0, :, 2], ROBOT.mass_kg * 9.81 / 4, rtol=0.05)
    assert np.all(np.abs(sol.forces[0, :, :2]) < 1.0)


def test_friction_pyramid_rows():
    cone = friction_pyramid(0.5)
    inside = np.array([0.4, -0.4, 1.0])
    outside = np.array([0.6, 0.0, 1.0])
    assert np.all(cone[1:] @ inside <= 0) and np.any(cone[1:] @ outside > 0)


def test_unsolved_qp_is_reported_not_returned():
    config = dataclasses.replace(CONFIG, osqp_max_iter=1)
    sol = ConvexMpc(config, ROBOT.mass_kg, ROBOT.inertia).solve(random_problem(3))
    assert not sol.solved and np.all(np.isnan(sol.forces))


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="state_weights"):
        MpcConfig(state_weights=(1.0,) * 12)
    with pytest.raises(ValueError, match="horizon_steps"):
        MpcConfig(horizon_steps=0)


def sloped_problem(seed, slope_deg, config=CONFIG):
    """A random problem on a plane rising ``slope_deg`` along a random direction: the reference
    follows the plane (``reference_trajectory`` with a ground), feet stand on it, the friction
    pyramid is built on its normal."""
    from locomotion.ground_plane import GroundPlane, ground_frame

    rng = np.random.default_rng(seed)
    base = random_problem(seed, config)
    direction = rng.uniform(-np.pi, np.pi)
    rise = np.tan(np.radians(slope_deg))
    ground = GroundPlane(0.0, rise * np.cos(direction), rise * np.sin(direction))
    x0 = base.x0.copy()
    x0[5] = ground.height_at(x0[3], x0[4]) + 0.28 / ground.normal_z
    ref = reference_trajectory(x0, rng.uniform(-1, 1.5, 2), rng.uniform(-1, 1), 0.28, config.horizon_steps,
                               config.dt_s, ground)
    feet = base.foot_positions.copy()
    feet[..., 2] += ground.gx * feet[..., 0] + ground.gy * feet[..., 1]  # on the plane below the trunk
    return MpcProblem(x0, ref, feet, base.contacts, ROBOT.mass_kg, ROBOT.inertia, ground_frame(ground, x0[2])), ground


@pytest.mark.parametrize("seed,slope_deg", [(0, 5.0), (1, 10.0), (2, -10.0), (3, 15.0)])
def test_osqp_fast_path_matches_cvxpy_reference_on_a_slope(seed, slope_deg):
    problem, _ = sloped_problem(seed, slope_deg)
    fast = ConvexMpc(CONFIG, ROBOT.mass_kg, ROBOT.inertia).solve(problem)
    assert fast.solved, fast.status
    reference = solve_reference(problem, CONFIG)
    np.testing.assert_allclose(fast.forces[0], reference[0], atol=1.0)
    np.testing.assert_allclose(fast.forces, reference, atol=3.0)


@pytest.mark.parametrize("seed", range(6))
def test_forces_on_a_slope_respect_the_cone_about_the_ground_normal(seed):
    problem, _ = sloped_problem(seed, 12.0)
    sol = ConvexMpc(CONFIG, ROBOT.mass_kg, ROBOT.inertia).solve(problem)
    assert sol.solved
    mu, tol = CONFIG.friction_coefficient, 0.5
    t1, t2, n = problem.ground_frame.T
    f = sol.forces[problem.contacts]
    normal = f @ n
    assert np.all(normal >= CONFIG.min_normal_force_n - tol) and np.all(normal <= CONFIG.max_normal_force_n + tol)
    assert np.all(np.abs(f @ t1) <= mu * normal + tol) and np.all(np.abs(f @ t2) <= mu * normal + tol)
    assert np.all(np.abs(sol.forces[~problem.contacts]) < tol)


def test_standing_on_a_slope_pushes_back_against_gravity_along_it():
    """Standing still on a 10 deg slope: the feet carry the weight, and the forces' along-slope
    part holds the trunk against m g sin(10 deg), inside the cone about the normal."""
    from locomotion.ground_plane import GroundPlane, ground_frame

    h = CONFIG.horizon_steps
    ground = GroundPlane(0.0, np.tan(np.radians(10.0)), 0.0)
    x0 = np.zeros(13)
    x0[5], x0[12] = 0.28 / ground.normal_z, GRAVITY
    x0[1] = -np.radians(10.0)  # nose up, parallel to the ground
    ref = reference_trajectory(x0, np.zeros(2), 0.0, 0.28, h, CONFIG.dt_s, ground)
    np.testing.assert_allclose(ref[:, 1], -np.radians(10.0))
    np.testing.assert_allclose(ref[:, 5], x0[5])
    feet = np.broadcast_to(FEET, (h, 4, 3)).copy()
    feet[..., 2] += ground.gx * feet[..., 0]
    problem = MpcProblem(x0, ref, feet, np.ones((h, 4), bool), ROBOT.mass_kg, ROBOT.inertia,
                         ground_frame(ground, 0.0))
    sol = ConvexMpc(CONFIG, ROBOT.mass_kg, ROBOT.inertia).solve(problem)
    total = sol.forces[0].sum(axis=0)
    np.testing.assert_allclose(total, [0.0, 0.0, ROBOT.mass_kg * 9.81], atol=0.03 * ROBOT.mass_kg * 9.81)
    t1, _, n = problem.ground_frame.T
    weight = ROBOT.mass_kg * 9.81
    assert total @ t1 == pytest.approx(weight * np.sin(np.radians(10.0)), rel=0.1)
    assert total @ n == pytest.approx(weight * np.cos(np.radians(10.0)), rel=0.03)


def test_reference_on_a_slope_climbs_with_the_ground():
    from locomotion.ground_plane import GroundPlane

    ground = GroundPlane(0.2, np.tan(np.radians(8.0)), 0.0)
    x0 = np.zeros(13)
    ref = reference_trajectory(x0, np.array([1.0, 0.0]), 0.0, 0.28, 10, 0.025, ground)
    np.testing.assert_allclose(ref[:, 5], 0.2 + ground.gx * ref[:, 3] + 0.28 / ground.normal_z)
    np.testing.assert_allclose(ref[:, 11], ground.gx * 1.0)
    np.testing.assert_allclose(ref[:, 1], -np.radians(8.0))
    np.testing.assert_allclose(ref[:, 0], 0.0, atol=1e-12)


def test_friction_pyramid_on_a_tilted_ground_is_the_level_one_turned():
    from locomotion.ground_plane import GroundPlane, ground_frame

    frame = ground_frame(GroundPlane(0.0, 0.2, -0.1), 0.4)
    rng = np.random.default_rng(0)
    local = rng.normal(size=(200, 3))  # forces in the ground's frame
    level, tilted = friction_pyramid(0.6), friction_pyramid(0.6, frame)
    np.testing.assert_allclose(tilted @ (frame @ local.T), level @ local.T, atol=1e-12)
