"""Terrain-relative pose: the plane maths against independent constructions, the simulator's labels
against PyBullet's rendered depth, and the rendering loss at and away from the truth."""

import math
from pathlib import Path

import numpy as np
import pybullet
import pytest
import torch

from locomotion import kinematics as kin
from locomotion.speed_policy import pose_input
from robot_perception.ground_pose import (
    FAR_WINDOW_M, NEAR_WINDOW_M, GroundPose, GroundPoseError, GroundPoseEstimator, GroundPoseNet, analytic_pose,
    depth_summary, encoder_input,
    fit_window_plane, gravity_frame, load_ground_pose, pixel_rays, plane_depth, rendering_loss)
from robot_perception.pointcloud import camera_up_vector
from sim.camera import Camera, camera_pose, load_camera_config
from sim.terrain import load_terrain_catalogue
from sim.trail import Trail, TrailSegment
from sim.trail_world import TrailGround
from sim.world import BoundClient

CONFIG = load_camera_config()
K = np.array([[103.9, 0.0, 79.0], [0.0, 103.9, 59.0], [0.0, 0.0, 1.0]])


def level_up(pitch_deg: float = 20.0, roll_deg: float = 0.0) -> np.ndarray:
    """World up in the optical frame of a camera pitched down by ``pitch_deg`` on a trunk rolled by ``roll_deg``."""
    half = math.radians(roll_deg) / 2
    return camera_up_vector([math.sin(half), 0.0, 0.0, math.cos(half)], math.radians(pitch_deg))


def test_gravity_frame_is_right_handed_with_a_level_forward():
    for up in (level_up(), level_up(25.0, 8.0), level_up(10.0, -5.0)):
        frame = gravity_frame(up)
        basis = np.stack([frame.forward, frame.lateral, frame.up])
        np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-12)
        assert abs(frame.forward @ frame.up) < 1e-12 and frame.forward[2] > 0
        assert frame.lateral[0] > 0.9  # to the right: the optical x axis
        # s right-handed with (ahead, right, up)? (ahead x right) = -up in a right-handed frame
        np.testing.assert_allclose(np.cross(frame.forward, frame.lateral), -frame.up, atol=1e-12)


def plane_depth_reference(height, tan_a, tan_b, up, rays):
    """Ray-plane intersection from a point and a normal: plane through -H up with normal u - tan_a f - tan_b l."""
    frame = gravity_frame(up)
    normal = frame.up - tan_a * frame.forward - tan_b * frame.lateral
    point = -height * frame.up
    return (point @ normal) / (rays @ normal)


def test_plane_depth_matches_a_point_normal_intersection():
    up = level_up(22.0, 4.0)
    frame = gravity_frame(up)
    rays = pixel_rays(K, 120, 160, 4)
    dots = frame.coordinates(rays)
    for height, tan_a, tan_b in ((0.35, 0.0, 0.0), (0.3, math.tan(math.radians(8)), 0.05), (0.4, -0.17, -0.03)):
        ours = plane_depth(height, tan_a, tan_b, dots[..., 0], dots[..., 1], dots[..., 2])
        reference = plane_depth_reference(height, tan_a, tan_b, up, rays)
        hits = reference > 0
        assert hits.sum() > 500
        np.testing.assert_allclose(ours[hits], reference[hits], rtol=1e-9)
        # the points rendered lie on the plane h = -H + s tan_a + w tan_b
        coords = frame.coordinates(rays[hits] * ours[hits][:, None])
        np.testing.assert_allclose(coords[:, 2], -height + coords[:, 0] * tan_a + coords[:, 1] * tan_b, atol=1e-9)


def test_window_fit_recovers_a_plane_through_noise_and_outliers():
    rng = np.random.default_rng(0)
    s, w = rng.uniform(0.0, 4.0, 3000), rng.uniform(-1.0, 1.0, 3000)
    h = -0.33 + s * math.tan(math.radians(-6)) + w * 0.04 + rng.normal(0, 0.01, 3000)
    h[:150] += 0.4  # a bush
    fit = fit_window_plane(np.stack([s, w, h], axis=1), NEAR_WINDOW_M)
    assert fit[0] == pytest.approx(0.33, abs=0.005)
    assert math.degrees(math.atan(fit[1])) == pytest.approx(-6.0, abs=0.3)
    assert fit[2] == pytest.approx(0.04, abs=0.01)
    assert fit_window_plane(np.stack([s, w, h], axis=1)[:20], NEAR_WINDOW_M) is None


def bent_ground_depth(up, height, near_deg, far_deg, bend_m=2.0):
    """Depth of a ground that climbs at ``near_deg`` and bends to ``far_deg`` at ``bend_m`` ahead."""
    frame = gravity_frame(up)
    rays = pixel_rays(K, 120, 160)
    dots = frame.coordinates(rays)
    ta, tb = math.tan(math.radians(near_deg)), math.tan(math.radians(far_deg))
    near = plane_depth(height, ta, 0.0, dots[..., 0], dots[..., 1], dots[..., 2])
    # the far plane passes through the bend line: h = -H + bend ta + (s - bend) tb
    far_height = height - bend_m * (ta - tb)
    far = plane_depth(far_height, tb, 0.0, dots[..., 0], dots[..., 1], dots[..., 2])
    s_near = near * dots[..., 0]
    depth = np.where((near > 0) & (s_near < bend_m), near, np.where(far > 0, far, np.inf))
    return depth


def test_analytic_pose_of_a_rendered_crest():
    up = level_up(20.0, 3.0)
    depth = bent_ground_depth(up, 0.36, 6.0, 1.0)
    pose = analytic_pose(encoder_input(depth, np.isfinite(depth), K, up))
    assert pose.far_seen
    assert pose.slope_along_deg == pytest.approx(6.0, abs=0.05)
    assert pose.camera_height_m == pytest.approx(0.36, abs=0.002)
    assert pose.slope_change_deg == pytest.approx(-5.0, abs=0.1)
    assert abs(pose.slope_across_deg) < 0.05
    # the depth summary follows the bend: +6 deg to 2 m, then +1 deg
    summary = depth_summary(encoder_input(depth, np.isfinite(depth), K, up))
    climb, after = math.tan(math.radians(6)), math.tan(math.radians(1))
    expected = [(k - 0.5) * climb if k <= 2.0 else 1.5 * climb + (k - 2.0) * after for k in (1.0, 1.5, 2.0, 2.5, 3.0)]
    np.testing.assert_allclose(summary[:5], expected, atol=0.02)
    np.testing.assert_array_equal(summary[5:], 1.0)
    # a sharp crest (+6 into -4 deg): the ground beyond drops out of sight, and the pose says so
    sharp = bent_ground_depth(up, 0.36, 6.0, -4.0)
    assert not analytic_pose(encoder_input(sharp, np.isfinite(sharp), K, up)).far_seen


def test_rendering_loss_is_lowest_at_the_true_planes():
    up = level_up(20.0, 0.0)
    depth = bent_ground_depth(up, 0.35, -5.0, 3.0)
    view = encoder_input(depth, np.isfinite(depth), K, up)
    ta, tb = math.tan(math.radians(-5)), math.tan(math.radians(3))
    truth = torch.tensor([[0.35, ta, 0.0, 0.35 - 2.0 * (ta - tb), tb, 0.0]], requires_grad=True)

    def loss(planes):
        return rendering_loss(planes, torch.from_numpy(view.rays)[None], torch.from_numpy(view.log_depth)[None],
                              torch.from_numpy(view.near[None].astype(np.float32)),
                              torch.from_numpy(view.far[None].astype(np.float32)))

    at_truth = loss(truth)
    assert float(at_truth.detach()) < 1e-5
    for k, step in ((0, 0.03), (1, 0.03), (2, 0.03), (4, 0.05)):
        off = truth.detach().clone()
        off[0, k] += step
        assert float(loss(off)) > 20 * float(at_truth.detach()) + 1e-5
    wrong = truth.detach().clone() + 0.02
    wrong.requires_grad_(True)
    loss(wrong).backward()
    assert torch.isfinite(wrong.grad).all() and wrong.grad.abs().sum() > 0
    # the network's output has the plane layout and a finite loss on a blank input
    planes = GroundPoseNet()(torch.zeros(2, 4, 60, 80))
    assert planes.shape == (2, 6) and torch.isfinite(planes).all()


def test_pose_input_marks_an_unseen_far_window_and_a_missing_pose():
    pose = GroundPose.from_planes((0.35, 0.1, 0.0), None)
    assert math.isnan(pose.slope_change_deg) and not pose.far_seen
    fields = pose.fields()
    assert math.isnan(fields[2]) and fields[4] == 0.0
    vector = pose_input(fields)  # the policy's input: change 0, far not seen, nothing NaN
    assert vector[2] == 0.0 and vector[4] == 0.0 and np.all(np.isfinite(vector))
    assert vector[0] == pytest.approx(math.degrees(math.atan(0.1)))
    seen = pose_input(GroundPose.from_planes((0.35, 0.1, 0.0), (0.3, 0.0, 0.0)).fields())
    assert seen[4] == 1.0 and seen[2] == pytest.approx(-math.degrees(math.atan(0.1)))
    assert pose_input(np.full(5, np.nan)).tolist() == [0.0] * 5  # no pose: zeros, as in the training pairs


@pytest.fixture(scope="module")
def sloped_scene():
    trail = Trail("slope", 3, (TrailSegment("asphalt", 4.0), TrailSegment("gravel", 6.0, 8.0),
                               TrailSegment("asphalt", 6.0, -4.0)))
    ground = TrailGround(trail)
    client = pybullet.connect(pybullet.DIRECT)
    ground.build(BoundClient(client))
    camera = Camera(client, CONFIG, ground.body_labels, load_terrain_catalogue().label_id("sky"))
    yield ground, camera
    pybullet.disconnect(client)
    ground.close()


def walkable(frame) -> np.ndarray:
    catalogue = load_terrain_catalogue()
    return np.isin(frame.labels, [catalogue.label_id(name) for name in catalogue.walkable])


def window_plane_of_trail(heights_at, world_from_camera, window_m):
    """(H, tan along) of the line fitted to the trail's true height profile, sampled evenly along the
    camera's level walking direction over ``window_m`` (trails are level across)."""
    forward = world_from_camera[:3, 2].copy()
    forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    s = np.linspace(*window_m, 31)
    h = heights_at(world_from_camera[0, 3] + s * forward[0]) - world_from_camera[2, 3]
    tan_along, intercept = np.polyfit(s, h, 1)
    return -intercept, tan_along


@pytest.mark.parametrize("x, pitch_deg, far_too", [(5.0, 8.0, True), (6.0, 8.0, False), (1.0, 0.0, False)])
def test_fit_to_pybullet_depth_agrees_with_the_trail_geometry(sloped_scene, x, pitch_deg, far_too):
    """The pose a least-squares fit gives on PyBullet's rendered depth (the labels' definition) against
    the trail's geometry, for windows on one segment; and a crest ahead reads as a drop in slope."""
    ground, camera = sloped_scene
    half = math.radians(-pitch_deg) / 2  # trunk pitched up the slope (nose up: negative pitch about y)
    orientation = np.array([0.0, math.sin(half), 0.0, math.cos(half)])
    position = np.array([x, 0.0, ground.height_at(x) + 0.30])
    frame = camera.render(position, orientation, 0.0)
    up = camera_up_vector(orientation, math.radians(CONFIG.mount_pitch_deg))
    view = encoder_input(frame.depth_m, walkable(frame), frame.intrinsics, up)
    fitted = analytic_pose(view)
    pose = camera_pose(position, kin.quaternion_to_rotation(orientation), CONFIG)
    height, tan_along = window_plane_of_trail(ground.heights_at, pose, NEAR_WINDOW_M)
    assert fitted.slope_along_deg == pytest.approx(math.degrees(math.atan(tan_along)), abs=0.2)
    assert fitted.camera_height_m == pytest.approx(height, abs=0.01)
    assert abs(fitted.slope_across_deg) < 0.3
    if far_too:
        _, tan_far = window_plane_of_trail(ground.heights_at, pose, FAR_WINDOW_M)
        change = math.degrees(math.atan(tan_far) - math.atan(tan_along))
        assert fitted.slope_change_deg == pytest.approx(change, abs=0.3)


@pytest.mark.parametrize("x, seen", [(7.5, True), (7.8, False)])
def test_a_crest_ahead_reads_as_a_drop_in_slope_or_out_of_sight(sloped_scene, x, seen):
    """The crest (+8 into -4 deg) at 10 m: in the far window from 7.5 m, hidden behind it from 7.8 m."""
    ground, camera = sloped_scene
    half = math.radians(-8.0) / 2
    orientation = np.array([0.0, math.sin(half), 0.0, math.cos(half)])
    position = np.array([x, 0.0, ground.height_at(x) + 0.30])
    frame = camera.render(position, orientation, 0.0)
    up = camera_up_vector(orientation, math.radians(CONFIG.mount_pitch_deg))
    fitted = analytic_pose(encoder_input(frame.depth_m, walkable(frame), frame.intrinsics, up))
    assert fitted.slope_along_deg == pytest.approx(8.0, abs=0.3)
    assert fitted.far_seen == seen
    if seen:
        assert fitted.slope_change_deg < -5.0


def test_ground_frame_in_camera_holds_the_rendered_ground_points(sloped_scene):
    """The pose node's PoseStamped: PyBullet's rendered ground points 0.5-2 m ahead (on the 8 deg climb,
    the camera rolled 3 deg) lie on the xy plane of the ground frame within 1 cm, its x axis points
    ahead and up the slope, its origin is straight below the camera; the quaternion (MELON's conversion,
    shared) is scipy's, up to sign."""
    from scipy.spatial.transform import Rotation

    from robot_perception.ground_pose import ground_frame_in_camera
    from robot_perception.melon.poses import rotation_to_quaternion  # what the pose node publishes with

    ground, camera = sloped_scene
    pitch, roll = math.radians(-8.0), math.radians(3.0)
    orientation = np.array(pybullet.getQuaternionFromEuler([roll, pitch, 0.0]))
    position = np.array([6.0, 0.0, ground.height_at(6.0) + 0.30])
    frame = camera.render(position, orientation, 0.0)
    up = camera_up_vector(orientation, math.radians(CONFIG.mount_pitch_deg))
    pose = analytic_pose(encoder_input(frame.depth_m, walkable(frame), frame.intrinsics, up))
    origin, rotation = ground_frame_in_camera(pose, up)
    assert np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-9) and np.linalg.det(rotation) == pytest.approx(1.0)
    mask = walkable(frame) & np.isfinite(frame.depth_m)
    points = pixel_rays(frame.intrinsics, *frame.depth_m.shape)[mask] * frame.depth_m[mask][:, None]
    ahead = gravity_frame(up).coordinates(points)[:, 0]
    near = points[(ahead > NEAR_WINDOW_M[0]) & (ahead < NEAR_WINDOW_M[1])]
    in_ground = (near - origin) @ rotation  # camera -> ground frame coordinates
    assert len(near) > 500 and np.percentile(np.abs(in_ground[:, 2]), 95) < 0.01
    assert rotation[:, 0] @ gravity_frame(up).forward > 0.95 and rotation[:, 0] @ up == pytest.approx(
        math.sin(math.radians(pose.slope_along_deg)), abs=1e-9)
    assert np.allclose(np.cross(origin, up), 0.0, atol=1e-9) and origin @ up < 0
    def same_rotation(q, expected):  # q and -q are the same rotation
        return np.allclose(q, expected, atol=1e-9) or np.allclose(q, -expected, atol=1e-9)

    assert same_rotation(rotation_to_quaternion(rotation), Rotation.from_matrix(rotation).as_quat())
    for turned in Rotation.random(200, random_state=4):  # every branch of the conversion
        assert same_rotation(rotation_to_quaternion(turned.as_matrix()), turned.as_quat())


def test_windows_do_not_overlap():
    assert NEAR_WINDOW_M[1] <= FAR_WINDOW_M[0]


SHIPPED = Path(__file__).resolve().parents[1] / "models" / "ground_pose.pt"


def test_shipped_encoder_reads_a_rendered_descent_and_refuses_what_it_cannot_know():
    estimator = GroundPoseEstimator(SHIPPED)
    up = level_up(20.0, 2.0)
    depth = bent_ground_depth(up, 0.34, -6.0, 2.0)
    # a 3 m wide trail, as the encoder was trained on (off it: not walkable)
    lateral = gravity_frame(up).coordinates(pixel_rays(K, 120, 160) * depth[..., None])[..., 1]
    walkable = np.isfinite(depth) & (np.abs(lateral) < 1.5)
    pose = estimator.estimate(depth, walkable, K, up)
    assert pose.slope_along_deg == pytest.approx(-6.0, abs=1.5)
    assert pose.camera_height_m == pytest.approx(0.34, abs=0.03)
    assert pose.far_seen  # (its slope change here reads ~0 for a true +8: see models/ground_pose.md)
    # no attitude, a NaN attitude, or no walkable ground in view: no pose, never a made-up one
    assert estimator.estimate(depth, walkable, K, None) is None
    assert estimator.estimate(depth, walkable, K, np.array([np.nan, -1.0, 0.0])) is None
    assert estimator.estimate(depth, np.zeros_like(walkable), K, up) is None


def test_pose_commands_name_bad_input(tmp_path, capsys):
    from semantic_locomotion.cli import main

    assert main(["train", "pose", "--data", str(tmp_path / "none"), "--val", str(tmp_path)]) == 2
    assert "--data" in capsys.readouterr().err
    (tmp_path / "dataset.json").write_text("{}")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["eval", "pose", "--data", str(tmp_path), "--model", str(bad)]) == 2
    assert "ground pose:" in capsys.readouterr().err
    with pytest.raises(GroundPoseError, match="does not exist"):
        load_ground_pose(tmp_path / "missing.pt")
