"""The onboard camera's labels and depth agree with the scene it renders."""

import numpy as np
import pybullet
import pytest

from sim.camera import IGNORE_LABEL, Camera, camera_pose, depth_from_buffer, load_camera_config
from sim.terrain import load_terrain_catalogue
from sim.trail import Trail, TrailSegment
from sim.trail_world import TrailGround
from sim.world import BoundClient

CATALOGUE = load_terrain_catalogue()
CONFIG = load_camera_config()


@pytest.fixture(scope="module")
def asphalt_scene():
    trail = Trail("flat", 5, (TrailSegment("asphalt", 20.0),))
    ground = TrailGround(trail)
    client = pybullet.connect(pybullet.DIRECT)
    ground.build(BoundClient(client))
    camera = Camera(client, CONFIG, ground.body_labels, CATALOGUE.label_id("sky"))
    position = np.array([1.0, 0.0, 0.30])
    frame = camera.render(position, np.array([0.0, 0.0, 0.0, 1.0]), 0.0)
    yield ground, frame, position
    pybullet.disconnect(client)
    ground.close()


def test_frame_shapes_and_types(asphalt_scene):
    _, frame, _ = asphalt_scene
    h, w = CONFIG.height_px, CONFIG.width_px
    assert frame.rgb.shape == (h, w, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth_m.shape == (h, w) and frame.depth_m.dtype == np.float32
    assert frame.labels.shape == (h, w) and frame.labels.dtype == np.uint8
    np.testing.assert_allclose(frame.world_from_camera[:3, :3] @ frame.world_from_camera[:3, :3].T, np.eye(3),
                               atol=1e-9)


def test_known_patches_get_their_class(asphalt_scene):
    _, frame, _ = asphalt_scene
    h, w = frame.labels.shape
    assert frame.labels[h - 1, w // 2] == CATALOGUE.label_id("asphalt")  # the trail just ahead
    assert frame.labels[0, w // 2] == CATALOGUE.label_id("sky")  # straight up the middle, far away
    left_edge = frame.labels[: h // 2, :3]
    assert CATALOGUE.label_id("bush") in left_edge  # hedges line the trail
    assert not np.any(frame.labels == IGNORE_LABEL)


def test_ground_depth_matches_geometry(asphalt_scene):
    """Depth of every asphalt pixel equals the ray/ground-plane intersection from K and the pose,
    to a relative error below 1e-4 (the worst pixel, the farthest, is at about 4e-5)."""
    _, frame, position = asphalt_scene
    pose = camera_pose(position, np.eye(3), CONFIG)
    np.testing.assert_allclose(frame.world_from_camera, pose)
    k_inv = np.linalg.inv(frame.intrinsics)
    rows, cols = np.nonzero(frame.labels == CATALOGUE.label_id("asphalt"))
    pixels = np.stack([cols, rows, np.ones_like(rows)]).astype(float)  # OpenCV convention: u = column
    rays = pose[:3, :3] @ (k_inv @ pixels)  # world directions with unit optical-axis component
    ground_z = -0.002  # the visible surface sits 2 mm under the nominal one
    t = (ground_z - pose[2, 3]) / rays[2]
    expected = t  # z-depth along the optical axis (rays have unit z in the camera frame)
    measured = frame.depth_m[rows, cols]
    assert rows.size > 0.5 * frame.labels.size  # the asphalt ground fills over half the image
    assert expected.max() > 15.0  # out to grazing rays far down the trail
    relative = np.abs(measured - expected) / expected
    assert relative.max() < 1e-4, f"worst pixel {relative.max():.2e} at {expected[np.argmax(relative)]:.1f} m"


def test_depth_buffer_conversion():
    near, far = 0.05, 30.0
    assert depth_from_buffer(np.array([0.0]), near, far)[0] == pytest.approx(near)
    assert depth_from_buffer(np.array([1.0]), near, far)[0] == pytest.approx(far)


def test_bad_camera_config_names_the_field(tmp_path):
    from locomotion.config import ConfigError

    path = tmp_path / "camera.yaml"
    path.write_text("width_px: 8\n")
    with pytest.raises(ConfigError, match="width_px"):
        load_camera_config(path)
