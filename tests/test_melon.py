"""MELON pieces: pose parameterisation, modulo replicas, the alignment of the metric, the renderer
on a field with a known answer, agreement with PyBullet's camera, the CLI and its input checks."""

import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from robot_perception.melon.data import TurntableConfig, TurntableRenderer, focal_px, make_turntable_set
from robot_perception.melon.field import GridField, pixel_rays, render_rays
from robot_perception.melon.poses import (
    align_longitudes, angular_error_deg, camera_centres, camera_rotations, pose_from_direction, replicas,
)
from robot_perception.melon.train import load_image_folder


def test_pose_round_trip_and_orthonormal_frames():
    rng = np.random.default_rng(0)
    lat = torch.tensor(rng.uniform(-1.3, 1.3, 50))
    lon = torch.tensor(rng.uniform(-math.pi, math.pi, 50))
    centres = camera_centres(lat, lon, 3.0)
    rotations = camera_rotations(lat, lon)
    for c, r, a, b in zip(centres.numpy(), rotations.numpy(), lat.numpy(), lon.numpy()):
        back = pose_from_direction(c)
        assert back[0] == pytest.approx(a) and math.remainder(back[1] - b, 2 * math.pi) == pytest.approx(0, abs=1e-9)
        np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-9)
        assert np.linalg.det(r) == pytest.approx(1.0)
        np.testing.assert_allclose(r[:, 2], -c / 3.0, atol=1e-9)  # looks at the centre
        assert r[2, 1] < 0 or abs(a) > 1.2  # image "down" points down in the world


def test_modulo_replicas():
    lon = torch.tensor([0.3])
    np.testing.assert_allclose(replicas(lon, 1).numpy(), [[0.3]])
    np.testing.assert_allclose(replicas(lon, 2).numpy(), [[0.3, 0.3 + math.pi]], rtol=1e-6)
    np.testing.assert_allclose(np.diff(replicas(lon, 4).numpy()), math.pi / 2, rtol=1e-6)


def test_alignment_removes_a_global_rotation_only():
    rng = np.random.default_rng(1)
    lat = rng.uniform(0.1, 1.0, 30)
    lon = rng.uniform(-math.pi, math.pi, 30)
    delta, errors = align_longitudes(lat, lon - 1.234, lat, lon)
    assert delta == pytest.approx(1.234, abs=1e-3)
    assert errors.max() < 0.1
    _, scrambled = align_longitudes(lat, rng.permutation(lon), lat, lon)
    assert scrambled.mean() > 20  # a permutation is not a rotation
    assert angular_error_deg(0.0, 0.0, 0.0, math.pi / 2) == pytest.approx(90.0)


def test_renderer_on_a_known_field():
    """An opaque cube of colour (0.2, 0.4, 0.8) in the middle of an empty grid."""
    field = GridField(resolution=32)
    with torch.no_grad():
        field.density.fill_(-20.0)
        field.density[..., 10:22, 10:22, 10:22] = 30.0
        field.colour[:] = torch.logit(torch.tensor([0.2, 0.4, 0.8])).view(1, 3, 1, 1, 1)
    centre = torch.tensor([[3.0, 0.0, 0.0]])
    through_cube = torch.tensor([[-1.0, 0.0, 0.0]])
    missing = torch.tensor([[-1.0, 0.0, 0.6]]) / torch.tensor([[-1.0, 0.0, 0.6]]).norm()
    hit = render_rays(field, centre, through_cube, radius=3.0, samples=128)
    miss = render_rays(field, centre, missing, radius=3.0, samples=128)
    np.testing.assert_allclose(hit[0].detach().numpy(), [0.2, 0.4, 0.8], atol=0.02)
    np.testing.assert_allclose(miss[0].detach().numpy(), [1.0, 1.0, 1.0], atol=1e-3)


def test_rays_match_pybullet_camera():
    """A pixel's ray, from our pose maths, passes through what PyBullet draws at that pixel."""
    config = TurntableConfig()
    renderer = TurntableRenderer("duck", config)
    try:
        lat, lon = 0.5, 2.0
        image = renderer.render(lat, lon)
    finally:
        renderer.close()
    mask = np.any(image < 0.98, axis=2)  # object pixels on white
    rows, cols = np.nonzero(mask)
    pixels = torch.from_numpy(np.stack([rows, cols], 1))
    origins, directions = pixel_rays(torch.tensor([lat]), torch.tensor([lon]), config.radius, focal_px(config),
                                     config.size_px, pixels)
    # distance of each object pixel's ray from the object's centre: within the object's bounding sphere
    closest = torch.cross(directions[0], -origins[0], dim=-1).norm(dim=-1)
    assert float(closest.max()) < config.object_radius * 1.05
    # and the silhouette is not mirrored: its centroid's ray passes near the centre
    centroid = torch.tensor([[rows.mean(), cols.mean()]])
    o, d = pixel_rays(torch.tensor([lat]), torch.tensor([lon]), config.radius, focal_px(config), config.size_px,
                      centroid.round().long())
    assert float(torch.cross(d[0, 0], -o[0, 0], dim=-1).norm()) < 0.35


def test_bad_image_folders_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        load_image_folder(tmp_path)
    (tmp_path / "a.png").write_bytes(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    (tmp_path / "b.png").write_bytes(cv2.imencode(".png", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    with pytest.raises(ValueError, match="mixed sizes"):
        load_image_folder(tmp_path)
    (tmp_path / "b.png").unlink()
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt"):
        load_image_folder(tmp_path)
    (tmp_path / "notes.txt").unlink()
    (tmp_path / "c.png").write_text("not really a png")
    with pytest.raises(ValueError, match=r"c\.png"):
        load_image_folder(tmp_path)


def test_cli_on_a_tiny_case_resumes_and_writes_poses(tmp_path):
    data = make_turntable_set("duck", tmp_path / "duck", views=6, held_out=1, seed=2)
    out = tmp_path / "run"
    def cmd(steps):
        return [sys.executable, "-m", "semantic_locomotion.cli", "melon", "--images", str(data / "images"), "--out",
                str(out), "--steps", str(steps), "--refine-steps", "10", "--threads", "1", "--quiet"]

    first = subprocess.run(cmd(20), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    poses = json.loads((out / "poses.json").read_text())
    assert set(poses) == {f"view_{i:03d}.png" for i in range(6)}
    assert all(set(p) == {"latitude_deg", "longitude_deg"} for p in poses.values())
    assert len(list((out / "novel_views").glob("*.png"))) == 8
    more = subprocess.run(cmd(30), capture_output=True, text=True, timeout=300)
    assert more.returncode == 0, more.stderr
    assert json.loads(more.stdout)["steps"] == 40  # 30 + 10 refinement, resumed from step 30
    bad = subprocess.run(cmd(1)[:5] + [str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--images" in bad.stderr
