"""The ground-plane estimate against known planes, across a crest, and its frame against PyBullet."""

import math

import numpy as np
import pybullet
import pytest

from locomotion.ground_plane import (GroundPlane, GroundPlaneConfig, GroundPlaneEstimator, fit_plane,
                                     ground_frame, slope_attitude, slope_attitudes)


def test_fit_plane_recovers_a_known_plane_and_matches_least_squares():
    rng = np.random.default_rng(0)
    for _ in range(50):
        offset, gx, gy = rng.uniform(-2, 2), rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)
        xy = rng.uniform(-50, 50, 2) + rng.uniform(-0.3, 0.3, (4, 2))
        z = offset + gx * xy[:, 0] + gy * xy[:, 1]
        fit = fit_plane(np.column_stack([xy, z]))
        np.testing.assert_allclose(fit, [offset, gx, gy], atol=1e-6)
        noisy = z + rng.normal(0, 0.01, 4)
        lstsq = np.linalg.lstsq(np.column_stack([np.ones(4), xy]), noisy, rcond=None)[0]
        np.testing.assert_allclose(fit_plane(np.column_stack([xy, noisy])), lstsq, atol=1e-6)


def test_fit_plane_without_enough_spread_is_level_through_the_mean():
    assert fit_plane(np.array([[0.0, 0.0, 0.1], [1.0, 0.0, 0.3]])) == pytest.approx((0.2, 0.0, 0.0))
    line = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.1], [2.0, 2.0, 0.2]])
    assert fit_plane(line) == pytest.approx((0.1, 0.0, 0.0))


def feet_under(x, y, yaw, surface, half_length=0.18, half_width=0.13):
    """The four feet of a robot at (x, y) heading yaw standing on ``surface(x, y) -> z``."""
    c, s = math.cos(yaw), math.sin(yaw)
    points = []
    for dx, dy in ((half_length, -half_width), (half_length, half_width), (-half_length, -half_width),
                   (-half_length, half_width)):
        px, py = x + c * dx - s * dy, y + s * dx + c * dy
        points.append([px, py, surface(px, py)])
    return np.array(points)


def test_estimator_converges_to_a_constant_slope():
    plane = GroundPlane(0.3, math.tan(math.radians(10)), math.tan(math.radians(-4)))
    estimator = GroundPlaneEstimator(GroundPlaneConfig(time_constant_s=0.15))
    for tick, x in enumerate(np.arange(0.0, 3.0, 0.002)):
        if tick % 100 == 0:  # a trot: diagonal pairs touch down in turn
            feet = feet_under(x, 0.5, 0.3, plane.height_at)
            pair = (0, 3) if tick % 200 == 0 else (1, 2)
            for leg in (range(4) if tick == 0 else pair):
                estimator.touchdown(leg, feet[leg])
        estimate = estimator.update(0.002)
    assert estimate.gx == pytest.approx(plane.gx, abs=1e-3) and estimate.gy == pytest.approx(plane.gy, abs=1e-3)
    assert estimate.height_at(x, 0.5) == pytest.approx(plane.height_at(x, 0.5), abs=5e-3)


def test_estimator_across_a_crest_stays_between_the_two_slopes():
    """+8 deg up to x = 2, then -8 deg: walking over the crest, the estimated tilt moves from the
    climb's to the descent's, and the plane's height under the trunk stays within 2 cm of the
    ground there (the feet straddle the crest, 0.36 m apart)."""
    rise = math.tan(math.radians(8))
    surface = lambda x, y: rise * x if x < 2.0 else rise * (4.0 - x)
    estimator = GroundPlaneEstimator(GroundPlaneConfig(time_constant_s=0.15))
    slopes, errors = [], []
    for tick, x in enumerate(np.arange(0.0, 4.0, 0.001)):  # 1 m/s at 1 kHz
        if tick % 150 == 0:
            feet = feet_under(x, 0.0, 0.0, surface)
            for leg in (range(4) if tick == 0 else ((0, 3) if tick % 300 == 0 else (1, 2))):
                estimator.touchdown(leg, feet[leg])
        plane = estimator.update(0.001)
        slopes.append(plane.gx)
        errors.append(plane.height_at(x, 0.0) - surface(x, 0.0))
    slopes, errors = np.array(slopes), np.array(errors)
    xs = np.arange(0.0, 4.0, 0.001)
    assert slopes[(xs > 1.0) & (xs < 1.6)].min() > 0.9 * rise  # on the climb
    assert slopes[(xs > 2.8) & (xs < 3.6)].max() < -0.9 * rise  # on the descent, hind feet past the crest
    assert np.all(np.abs(slopes) <= rise + 1e-9)  # never beyond either slope
    assert np.abs(errors[xs > 0.5]).max() < 0.02


def test_estimator_clips_an_implausible_tilt():
    estimator = GroundPlaneEstimator(GroundPlaneConfig(time_constant_s=0.0, max_slope_deg=20.0))
    for leg, point in enumerate([[0.2, -0.1, 0.5], [0.2, 0.1, 0.5], [-0.2, -0.1, 0.0], [-0.2, 0.1, 0.0]]):
        estimator.touchdown(leg, point)
    assert estimator.update(0.002).slope_deg == pytest.approx(20.0)


def test_ground_frame_and_attitude_match_pybullet_euler_convention():
    rng = np.random.default_rng(3)
    for _ in range(30):
        plane = GroundPlane(0.0, *rng.uniform(-0.3, 0.3, 2))
        yaw = rng.uniform(-math.pi, math.pi)
        frame = ground_frame(plane, yaw)
        np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-12)
        assert np.linalg.det(frame) == pytest.approx(1.0)
        # forward and left lie in the plane; the third column is its normal
        for axis in (frame[:, 0], frame[:, 1]):
            assert axis[2] == pytest.approx(plane.gx * axis[0] + plane.gy * axis[1])
        np.testing.assert_allclose(frame[:, 2], plane.normal)
        roll, pitch = slope_attitude(plane, yaw)
        matrix = np.array(pybullet.getMatrixFromQuaternion(pybullet.getQuaternionFromEuler([roll, pitch, yaw])))
        np.testing.assert_allclose(matrix.reshape(3, 3), frame, atol=1e-9)
        rolls, pitches = slope_attitudes(plane, np.array([yaw, yaw + 1.0]))
        assert (rolls[0], pitches[0]) == pytest.approx((roll, pitch), abs=1e-12)
        assert (rolls[1], pitches[1]) == pytest.approx(slope_attitude(plane, yaw + 1.0), abs=1e-12)


def test_attitude_signs_follow_rep_103():
    uphill = GroundPlane(0.0, math.tan(math.radians(10)), 0.0)
    assert slope_attitude(uphill, 0.0)[1] == pytest.approx(-math.radians(10))  # nose up
    assert slope_attitude(uphill, math.pi)[1] == pytest.approx(math.radians(10))  # facing downhill
    assert slope_attitude(uphill, math.pi / 2)[0] == pytest.approx(-math.radians(10))  # ground rises to the right
    assert uphill.height_above(np.array([1.0, 0.0, uphill.height_at(1.0, 0.0) + 0.3])) == pytest.approx(
        0.3 * math.cos(math.radians(10)))


@pytest.mark.parametrize("yaw", [0.0, 1.2])
def test_tilt_across_the_walking_direction_has_its_own_time_constant(yaw):
    """A tilt across the heading (at any heading) follows with ``across_time_constant_s``, one
    along it with ``time_constant_s``: after 0.15 s (one along-constant) the along tilt is at
    1 - e^-1 of a step, the across tilt at 1 - e^-0.25 with a 0.6 s across-constant."""
    c, s = math.cos(yaw), math.sin(yaw)
    config = GroundPlaneConfig(time_constant_s=0.15, across_time_constant_s=0.6)
    along, across = 0.1, 0.1  # the target tilt's components along and across the heading
    target = GroundPlane(0.0, c * along - s * across, s * along + c * across)
    estimator = GroundPlaneEstimator(config)
    feet = feet_under(0.0, 0.0, yaw, target.height_at)
    for leg in range(4):
        estimator.touchdown(leg, feet[leg])
    for _ in range(75):
        estimate = estimator.update(0.002, yaw)
    got_along = c * estimate.gx + s * estimate.gy
    got_across = -s * estimate.gx + c * estimate.gy
    assert got_along == pytest.approx(along * (1 - math.exp(-1.0)), rel=1e-6)
    assert got_across == pytest.approx(across * (1 - math.exp(-0.25)), rel=1e-6)


def test_negative_across_time_constant_is_rejected():
    with pytest.raises(ValueError, match="across_time_constant_s"):
        GroundPlaneConfig(across_time_constant_s=-1.0)
