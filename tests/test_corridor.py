"""The corridor obstacle check on synthetic depth images of hills: slopes, crests and dips are clear
ground, a boulder on a ramp and a wall are obstacles.

Each scene is ray-cast exactly: the ground is a polyline z = g(x) along the trail (flat across it),
boulders are axis-aligned boxes as sim/trail_world.py places them (standing on the ground height at
their centre), and the camera is the onboard one of config/camera.yaml (intrinsics, 20 deg mount
pitch, mount offset on the trunk) on a trunk standing at the slow gait's 0.30 m above the ground at
x = 0, either level or pitched to follow the slope it stands on. Depth is the optical-axis depth, as
sim/camera.py gives it; pixels that hit nothing within 30 m are sky."""

import itertools
import math

import numpy as np
import pytest

from robot_perception.pointcloud import (CLEAR, NO_GROUND_IN_VIEW, OBSTACLE, CorridorConfig, camera_up_vector,
                                         climbable_rise, corridor_reading, elevation_profile, load_corridor_config,
                                         obstacle_distance, profile_height_at, steep_rise, steep_start,
                                         vegetation_heights)
from sim.camera import camera_pose, load_camera_config

GROUND, ROCK, SKY, TALL_GRASS = 0, 1, 2, 3
TRUNK_HEIGHT_M = 0.30  # config/gaits.yaml slow gait base_height_m
FAR_M = 30.0


def polyline(*slopes: tuple[float, float]) -> np.ndarray:
    """Ground knots (x, z) from 40 m behind to 40 m ahead: ``slopes`` are (x where it starts, deg),
    the first from behind the robot; the ground is continuous and z = 0 at x = 0."""
    xs = [-40.0] + [x for x, _ in slopes[1:]] + [40.0]
    grades = [math.tan(math.radians(d)) for _, d in slopes]
    zs = [0.0]
    for i, g in enumerate(grades):
        zs.append(zs[-1] + g * (xs[i + 1] - xs[i]))
    knots = np.array([xs, zs]).T
    knots[:, 1] -= np.interp(0.0, knots[:, 0], knots[:, 1])
    return knots


def ground_z(knots: np.ndarray, x):
    return np.interp(x, knots[:, 0], knots[:, 1])


def boulder(knots: np.ndarray, at_m: float, size_m: float = 0.6, height_m: float = 0.5):
    """A box as sim/trail_world.py builds a TrailObstacle: near face at ``at_m``, resting at the
    ground height of its centre."""
    bottom = float(ground_z(knots, at_m + size_m / 2))
    return np.array([at_m, -size_m / 2, bottom]), np.array([at_m + size_m, size_m / 2, bottom + height_m])


def trunk_pitch_up_of(knots: np.ndarray, trunk_follows_slope: bool) -> float:
    """The synthetic trunk's nose-up pitch at x = 0: the ground's slope there, or level."""
    slope = math.atan((ground_z(knots, 0.05) - ground_z(knots, -0.05)) / 0.1)
    return slope if trunk_follows_slope else 0.0


def render(knots: np.ndarray, boxes=(), trunk_follows_slope: bool = True):
    """Depth (m), labels and intrinsics of the onboard camera over this scene, and the camera's
    position; ``boxes`` are (lo, hi) corners of rocks, or (lo, hi, label). ``up_vector(...)`` of the
    same arguments is the world's up direction in the camera frame."""
    cam = load_camera_config()
    k = cam.intrinsics
    trunk_pitch_up = trunk_pitch_up_of(knots, trunk_follows_slope)
    c, s = math.cos(trunk_pitch_up), math.sin(trunk_pitch_up)
    mx, _, mz = cam.mount_xyz_m
    origin = np.array([mx * c - mz * s, 0.0, TRUNK_HEIGHT_M + mx * s + mz * c])
    down = math.radians(cam.mount_pitch_deg) - trunk_pitch_up
    zc = np.array([math.cos(down), 0.0, -math.sin(down)])  # optical axes in the world (x fwd, y left, z up)
    xc = np.array([0.0, -1.0, 0.0])
    yc = np.cross(zc, xc)
    rows, cols = np.mgrid[0:cam.height_px, 0:cam.width_px]
    ray = np.stack([(cols - k[0, 2]) / k[0, 0], (rows - k[1, 2]) / k[1, 1], np.ones(rows.shape)], axis=-1)
    d = ray @ np.stack([xc, yc, zc])  # world direction with unit optical-z component: t is the depth
    dx, dz = d[..., 0], d[..., 2]
    best = np.full(rows.shape, np.inf)
    for (xa, za), (xb, zb) in itertools.pairwise(knots):
        m = (zb - za) / (xb - xa)
        denom = dz - m * dx
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (za + m * (origin[0] - xa) - origin[2]) / denom
        x = origin[0] + t * dx
        ok = (t > 0) & (x >= xa) & (x <= xb)
        best = np.where(ok & (t < best), t, best)
    labels = np.full(rows.shape, GROUND, dtype=np.uint8)
    for lo, hi, *label in boxes:
        with np.errstate(divide="ignore", invalid="ignore"):
            t0 = (lo - origin) / d
            t1 = (hi - origin) / d
        near = np.nanmax(np.minimum(t0, t1), axis=-1)
        far = np.nanmin(np.maximum(t0, t1), axis=-1)
        hit = (far >= near) & (near > 0) & (near < best)
        best = np.where(hit, near, best)
        labels[hit] = label[0] if label else ROCK
    sky = best > FAR_M
    labels[sky] = SKY
    depth = np.where(sky, FAR_M, best).astype(np.float32)
    return depth, labels, k, origin


def up_vector(knots: np.ndarray, trunk_follows_slope: bool = True) -> np.ndarray:
    """The world's up direction in the optical frame of ``render``'s camera (its optical axes'
    world z components), what ``camera_up_vector`` makes of the IMU's attitude."""
    down = math.radians(load_camera_config().mount_pitch_deg) - trunk_pitch_up_of(knots, trunk_follows_slope)
    return np.array([0.0, -math.cos(down), -math.sin(down)])


def reading(depth, labels, k, config: CorridorConfig | None = None, up=None, vegetation=None):
    return corridor_reading(depth, labels, k, [GROUND, TALL_GRASS], config or load_corridor_config(),
                            rangeless_ids=(SKY,), up=up, vegetation=vegetation)


FLAT = polyline((-40, 0.0))
HILLS = {
    "ramp up +10 deg from flat": polyline((-40, 0.0), (2.0, 10.0)),
    "ramp down -10 deg from flat": polyline((-40, 0.0), (2.0, -10.0)),
    "on a +10 deg ramp onto flat": polyline((-40, 10.0), (2.5, 0.0)),
    "crest +8 then -8 deg": polyline((-40, 8.0), (2.0, -8.0)),
    "crest +8 then -8 deg, robot on top": polyline((-40, 8.0), (0.3, -8.0)),
    "dip -4 then +5 deg": polyline((-40, -4.0), (2.5, 5.0)),
    "dip -10 then +10 deg": polyline((-40, -10.0), (2.5, 10.0)),
    "dip -15 then +15 deg": polyline((-40, -15.0), (3.0, 15.0)),
    "rolling -4, +5, -8": polyline((-40, -4.0), (1.5, 5.0), (4.0, -8.0)),
}


def test_the_synthetic_camera_sees_flat_ground_at_its_height():
    depth, labels, k, origin = render(FLAT)
    assert reading(depth, labels, k).status == CLEAR
    from robot_perception.pointcloud import depth_to_points, fit_ground_plane

    points, _ = depth_to_points(depth, k)
    _, offset = fit_ground_plane(points[np.isfinite(points).all(axis=1) & (points[:, 2] < 10)])
    assert offset == pytest.approx(origin[2], abs=1e-3)  # the camera's height above the ground


@pytest.mark.parametrize("follows", [True, False], ids=["trunk follows slope", "trunk level"])
@pytest.mark.parametrize("name", list(HILLS))
@pytest.mark.parametrize("gravity", [False, True], ids=["no attitude", "with attitude"])
def test_slopes_crests_and_dips_are_clear(name, follows, gravity):
    depth, labels, k, _ = render(HILLS[name], trunk_follows_slope=follows)
    got = reading(depth, labels, k, up=up_vector(HILLS[name], follows) if gravity else None)
    assert got.status == CLEAR and got.distance_m == math.inf, got
    assert got.ground_seen_m >= 1.5  # it saw ground, not nothing


def test_the_up_vector_is_the_camera_poses():
    """``camera_up_vector`` of random trunk attitudes against the camera pose sim/camera.py renders
    from (its rotation's transpose applied to the world's z axis)."""
    from scipy.spatial.transform import Rotation

    cam = load_camera_config()
    for quaternion in Rotation.random(20, random_state=3).as_quat():
        pose = camera_pose(np.zeros(3), Rotation.from_quat(quaternion).as_matrix(), cam)
        np.testing.assert_allclose(camera_up_vector(quaternion, math.radians(cam.mount_pitch_deg)),
                                   pose[:3, :3].T @ [0.0, 0.0, 1.0], atol=1e-12)
    # and the synthetic scenes' own camera agrees with it
    level = Rotation.from_euler("y", -math.radians(10)).as_quat()  # nose up 10 deg (REP-103: +pitch is nose down)
    np.testing.assert_allclose(camera_up_vector(level, math.radians(cam.mount_pitch_deg)),
                               up_vector(polyline((-40, 10.0))), atol=1e-12)


def test_climbable_rise_is_the_slope_limit_in_the_gravity_frame():
    assert climbable_rise(15.0, 0.0) == pytest.approx(math.tan(math.radians(15)))
    assert climbable_rise(15.0, math.radians(-10)) == pytest.approx(math.tan(math.radians(25)))
    assert climbable_rise(15.0, math.radians(10)) == pytest.approx(math.tan(math.radians(5)))
    assert climbable_rise(15.0, math.radians(20)) == 0.0


@pytest.mark.parametrize("follows", [True, False], ids=["trunk follows slope", "trunk level"])
def test_with_the_attitude_a_ramp_steeper_than_climbable_is_an_obstacle(follows):
    """Knowing gravity, a 25 deg ramp ahead of flat ground is too steep (the limit is 15 deg), while
    without it the check can only allow the 30 deg a 15 deg descent into a 15 deg climb would show.
    The same 25 deg rise at the foot of a 10 deg descent is a 15 deg climb, and clear."""
    steep = polyline((-40, 0.0), (3.0, 25.0))
    depth, labels, k, origin = render(steep, trunk_follows_slope=follows)
    with_attitude = reading(depth, labels, k, up=up_vector(steep, follows))
    assert with_attitude.status == OBSTACLE, with_attitude
    assert with_attitude.distance_m == pytest.approx(3.0 - origin[0], abs=0.4)
    assert reading(depth, labels, k).status == CLEAR
    climbable = polyline((-40, -10.0), (3.0, 15.0))
    depth, labels, k, _ = render(climbable, trunk_follows_slope=follows)
    assert reading(depth, labels, k, up=up_vector(climbable, follows)).status == CLEAR


@pytest.mark.parametrize("ground", [FLAT, polyline((-40, -8.0), (2.5, 0.0))], ids=["flat", "foot of a descent"])
def test_tall_grass_may_stand_its_height_above_the_ground(ground):
    """A 0.25 m patch of walkable tall grass 3 m ahead: an obstacle as bare ground (a step), clear
    with its 0.2 m vegetation height allowed; a rock of the same shape is an obstacle either way."""
    lo, hi = boulder(ground, 3.0, size_m=1.5, height_m=0.25)
    vegetation = {TALL_GRASS: 0.2}
    depth, labels, k, _ = render(ground, [(lo, hi, TALL_GRASS)])
    assert reading(depth, labels, k).status == OBSTACLE
    assert reading(depth, labels, k, vegetation=vegetation).status == CLEAR
    depth, labels, k, _ = render(ground, [(lo, hi)])
    assert reading(depth, labels, k, vegetation=vegetation).status == OBSTACLE


def test_vegetation_heights_map_class_names_to_label_ids():
    config = CorridorConfig(vegetation_height_m={"deep_grass": 0.2})
    assert vegetation_heights(("asphalt", "grass", "deep_grass"), config) == {2: 0.2}
    with pytest.raises(ValueError, match="vegetation_height_m: deep_grass"):
        vegetation_heights(("asphalt", "grass"), config)


def test_over_a_crest_the_far_ground_is_hidden_and_still_clear():
    depth, labels, k, _ = render(HILLS["crest +8 then -8 deg, robot on top"])
    got = reading(depth, labels, k)
    flat = reading(*render(FLAT)[:3])
    assert got.status == CLEAR
    assert got.ground_seen_m < flat.ground_seen_m  # the descent beyond the crest drops out of sight


@pytest.mark.parametrize("follows", [True, False], ids=["trunk follows slope", "trunk level"])
@pytest.mark.parametrize("ground,at_m", [
    (polyline((-40, 0.0), (1.0, 10.0)), 3.5),  # on the ramp ahead
    (polyline((-40, 10.0)), 3.0),  # the robot climbing it too
    (polyline((-40, -10.0)), 3.0),  # on a descent
    (polyline((-40, -4.0), (2.5, 5.0)), 3.2),  # just past the bottom of a dip
    (polyline((-40, 8.0), (2.0, -8.0)), 1.6),  # on the top of a crest
], ids=["ramp ahead", "climbing", "descending", "dip", "crest"])
def test_a_boulder_on_a_slope_is_an_obstacle_at_its_near_face(ground, at_m, follows):
    depth, labels, k, origin = render(ground, [boulder(ground, at_m)], trunk_follows_slope=follows)
    got = reading(depth, labels, k)
    assert got.status == OBSTACLE, got
    assert got.distance_m == pytest.approx(at_m - origin[0], abs=0.2)  # metres from the camera
    clear = reading(*render(ground, trunk_follows_slope=follows)[:3])
    assert clear.status == CLEAR  # the same ground without it


@pytest.mark.parametrize("name,ground", [
    ("0.3 m step", np.array([[-40.0, 0.0], [3.0, 0.0], [3.01, 0.3], [40.0, 0.3]])),
    ("0.3 m step on a +10 deg ramp", np.vstack([polyline((-40, 10.0))[:1], [[3.0, 3.0 * math.tan(math.radians(10))],
                                                [3.01, 0.3 + 3.0 * math.tan(math.radians(10))],
                                                [40.0, 0.3 + 40.0 * math.tan(math.radians(10))]]])),
    ("40 deg ramp", polyline((-40, 0.0), (3.0, 40.0))),
])
def test_walkable_ground_steeper_than_climbable_is_an_obstacle(name, ground):
    """Walls and steps the segmentation calls walkable (concrete, say): the ground model itself
    rises too steeply."""
    depth, labels, k, origin = render(ground)
    got = reading(depth, labels, k)
    assert got.status == OBSTACLE, got
    assert got.distance_m == pytest.approx(3.0 - origin[0], abs=0.25)


def test_the_one_plane_check_would_have_stopped_in_the_dip():
    """The issue's dip (-4 deg into +5 deg): fitting one plane to everything in view put the rising
    ground above it. The near-ground plane and the bending profile do not."""
    from robot_perception.pointcloud import depth_to_points, fit_ground_plane

    depth, labels, k, _ = render(HILLS["dip -10 then +10 deg"])
    points, _ = depth_to_points(depth, k, 2)
    ground = points[points[:, 2] < 6.0]
    normal, offset = fit_ground_plane(ground)
    one_plane_height = ground @ normal + offset
    assert (one_plane_height > 0.10).sum() > 8  # what the old check called a boulder
    assert reading(depth, labels, k).status == CLEAR


def test_no_ground_in_view_is_unknown_not_clear():
    depth, labels, k, _ = render(FLAT, [boulder(FLAT, 0.3, size_m=3.0, height_m=3.0)])  # a rock face fills the view
    assert (labels == ROCK).all()
    got = reading(depth, labels, k)
    assert got.status == NO_GROUND_IN_VIEW and math.isnan(got.distance_m)
    assert math.isnan(obstacle_distance(depth, labels, k, [GROUND], rangeless_ids=(SKY,)))


def test_profile_helpers():
    along = np.array([0.1, 0.2, 0.3, 1.1, 1.2, 1.3, 1.4])
    height = np.array([0.0, 0.0, 0.3, 0.5, 0.5, 0.5, 9.0])  # one outlier per bin
    knots_along, knots_height = elevation_profile(along, height, 0.5, 2.0, 3)  # bins 0-0.5, ..., 1.5-2 m
    np.testing.assert_allclose(knots_along[[0, 2]], [0.2, 1.25])  # the medians, not the bin centres
    assert knots_height[0] == 0.0 and knots_height[2] == 0.5 and np.isnan(knots_height[[1, 3]]).all()
    np.testing.assert_allclose(profile_height_at(knots_along, knots_height, np.array([0.0, 0.725, 3.0])),
                               [0.0, 0.25, 0.5])
    assert len(knots_along) == 4
    grade = math.tan(math.radians(20))
    assert steep_rise(knots_along, knots_height, grade, 1.1, 0.05) == (0, 2)  # 0.5 m over 1.05 m: > 20 deg + 5 cm
    assert steep_rise(knots_along, knots_height, grade, 1.0, 0.05) is None  # the knots are 1.05 m apart
    assert steep_rise(knots_along, knots_height, grade, 1.1, 0.05, from_m=1.3) is None
    assert steep_rise(knots_along, knots_height, math.tan(math.radians(25)), 1.1, 0.0) == (0, 2)
    assert steep_rise(knots_along, knots_height, math.tan(math.radians(25)), 1.1, 0.05) is None
    per_knot = np.array([0.0, 0.0, 0.3, 0.0])  # knot 2 may stand 0.3 m higher (tall grass)
    assert steep_rise(knots_along, knots_height, grade, 1.1, per_knot) is None
    ramp_along, ramp_height = np.array([1.0, 1.5, 2.0, 2.5]), np.array([0.0, 0.0, 0.2, 0.6])  # rising from 1.75 m
    assert steep_start(ramp_along, ramp_height, 2, 3) == pytest.approx(1.75)
    assert steep_start(ramp_along, ramp_height, 1, 3) == pytest.approx(1.5)  # never before the knot before


def test_bad_corridor_config_names_the_field(tmp_path):
    from locomotion.config import ConfigError

    path = tmp_path / "corridor.yaml"
    path.write_text("max_climb_slope_deg: 60\n")
    with pytest.raises(ConfigError, match="max_climb_slope_deg"):
        load_corridor_config(path)
    assert load_corridor_config() == CorridorConfig()  # the shipped file holds the defaults
