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
    align_longitudes, angular_error_deg, camera_centres, camera_rotations, pose_from_direction, rep103_camera_pose,
    replicas, rotation_to_quaternion,
)
from robot_perception.melon.train import (
    MelonConfig, MelonRun, candidate_longitude_offsets, circular_moments, estimate_noise, load_image_folder,
)


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


def red_ended_bar() -> GridField:
    """A bar along x, red on its +x half and dark on its -x half: alike from front and back in shape only."""
    field = GridField(resolution=24)
    with torch.no_grad():
        field.density.fill_(-20.0)
        field.density[..., 8:16, 8:16, 4:20] = 30.0  # grid_sample's last axis is x
        field.colour[:] = -3.0
        field.colour[:, 0, :, :, 12:] = 3.0
    return field


def write_views_from_behind(field: GridField, lats, lons, folder) -> None:
    """The field's views from lon + pi, as PNGs."""
    cfg = TurntableConfig(size_px=24)
    for i, (lat, lon) in enumerate(zip(lats, lons)):
        image = render_image_np(field, lat, lon + math.pi, cfg)
        cv2.imwrite(str(folder / f"v{i}.png"), cv2.cvtColor((image * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))


def test_modulo_loss_picks_the_replica_the_image_was_taken_from(tmp_path):
    """Images of an asymmetric field rendered from lon + pi: with N = 2 the second replica fits best,
    with N = 4 the third; the first replica (the encoder's own pose) does not."""
    field = red_ended_bar()
    lats, lons = [0.3, 0.5], [0.2, 1.3]
    write_views_from_behind(field, lats, lons, tmp_path)
    for n, expected in ((2, 1), (4, 2)):
        run = MelonRun(MelonConfig(tmp_path, tmp_path / f"out{n}", modulo=n, threads=1))
        run.field = field
        rows, cols = np.meshgrid(np.arange(24), np.arange(24), indexing="ij")
        pixels = torch.from_numpy(np.stack([rows.ravel(), cols.ravel()], 1))
        with torch.no_grad():
            errors = run.replica_errors(np.arange(2), pixels, torch.tensor(lats), torch.tensor(lons))
        assert errors.shape == (2, n)
        assert errors.argmin(dim=1).tolist() == [expected, expected]
        assert float(errors[:, 0].min()) > 10 * float(errors.min(dim=1).values.max())


def test_search_candidates_are_the_modulo_replicas_and_their_neighbours():
    def offsets_deg(**kw):
        return np.degrees(candidate_longitude_offsets(MelonConfig(".", ".", **kw))).round(6).tolist()

    assert offsets_deg(modulo=1) == [0, -30, 30]
    assert offsets_deg(modulo=2) == [0, -30, 30, 180, 150, 210]
    assert offsets_deg(modulo=2, search_local_deg=0) == [0, 180]
    every_30 = sorted(offsets_deg(modulo=1, search_candidates="longitudes"))
    assert every_30 == list(range(0, 360, 30))
    assert sorted(np.remainder(offsets_deg(modulo=4), 360).round(6).tolist()) == every_30  # the two coincide
    with pytest.raises(ValueError, match="search_candidates"):
        MelonConfig(".", ".", search_candidates="everywhere")


def test_refinement_search_flips_a_pose_only_to_a_candidate(tmp_path):
    """Views of the red-ended bar from behind its refined poses: the search turns them round with N = 2
    (a replica) and with the 12-longitude search, but not with N = 1's replica search, which only looks
    30 deg either side."""
    field = red_ended_bar()
    lats, lons = [0.3, 0.5], [0.2, 1.3]
    write_views_from_behind(field, lats, lons, tmp_path)
    for n, candidates, moved in ((2, "replicas", True), (1, "replicas", False), (1, "longitudes", True)):
        run = MelonRun(MelonConfig(tmp_path, tmp_path / f"out{n}{candidates}", modulo=n, threads=1,
                                   search_candidates=candidates, lat_range_deg=(0.0, 75.0)))
        run.field = field
        run._set_refined_poses(torch.tensor(lats), torch.tensor(lons))
        run.search_poses()
        turned = np.abs(np.remainder(run.pose_lon.detach().numpy() - np.array(lons) + math.pi, 2 * math.pi)
                        - math.pi)
        if moved:
            np.testing.assert_allclose(turned, math.pi, atol=1e-5)
        else:
            assert turned.max() < math.radians(31)


def test_colour_prior_smooths_only_while_poses_are_inferred(tmp_path):
    """Clean images: the colour grid's TV counts in the MELON and refinement stages, not in the polish."""
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"v{i}.png"), np.full((24, 24, 3), 255 * i, np.uint8))
    run = MelonRun(MelonConfig(tmp_path, tmp_path / "out", threads=1))
    assert run.noise_sigma == 0.0 and run.tv_colour == 0.0 and run.tv_colour_pose_stages == 0.25
    with torch.no_grad():
        run.field.density.zero_()
        run.field.colour.normal_()  # rough colour, flat density: only the colour term differs
        density_only = run.tv_density * float(run.field.total_variation())
        colour_tv = float(run.field.total_variation(run.field.colour))
        assert float(run.smoothness(polish=True)) == pytest.approx(density_only)
        assert float(run.smoothness()) == pytest.approx(density_only + 0.25 * colour_tv)


def render_image_np(field, lat, lon, cfg):
    from robot_perception.melon.field import render_image

    return np.clip(render_image(field, lat, lon, cfg.radius, focal_px(cfg), cfg.size_px).numpy(), 0, 1)


def test_uniformity_prior_penalises_clusters_even_opposite_ones():
    spread = torch.linspace(-math.pi, math.pi, 65)[:-1]
    assert float(circular_moments(spread, 4)) < 1e-10
    one_cluster = torch.full((64,), 0.7)
    opposite = torch.cat([torch.full((32,), 0.7), torch.full((32,), 0.7 + math.pi)])
    four = torch.cat([torch.full((16,), 0.7 + k * math.pi / 2) for k in range(4)])
    assert float(circular_moments(one_cluster, 4)) == pytest.approx(4.0)
    assert float(circular_moments(opposite, 1)) < 1e-10  # the first moment alone cannot see it
    assert float(circular_moments(opposite, 4)) == pytest.approx(2.0)
    assert float(circular_moments(four, 4)) == pytest.approx(1.0)


def test_noise_estimate_is_zero_on_clean_renders_and_sigma_on_noisy_ones():
    renderer = TurntableRenderer("duck", TurntableConfig(size_px=32, supersample=2))
    try:
        clean = np.stack([renderer.render(math.radians(20.0), math.radians(lon)) for lon in (0, 90, 200)])
    finally:
        renderer.close()
    assert estimate_noise(clean) == 0.0  # object edges are too few to move the median
    noisy = clean + np.random.default_rng(0).normal(0.0, 0.5, clean.shape).astype(np.float32)
    assert estimate_noise(noisy) == pytest.approx(0.5, rel=0.05)


def test_rep103_camera_pose_looks_at_the_centre_with_z_up():
    rng = np.random.default_rng(3)
    for lat, lon in zip(rng.uniform(-1.2, 1.2, 20), rng.uniform(-math.pi, math.pi, 20)):
        position, q = rep103_camera_pose(lat, lon, 2.0)
        x, y, z, w = q
        rotation = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                             [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                             [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        np.testing.assert_allclose(position, 2.0 * np.array(
            [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)]), atol=1e-9)
        np.testing.assert_allclose(rotation[:, 0], -position / 2.0, atol=1e-9)  # x forward, at the centre
        assert abs(rotation[2, 1]) < 1e-9 and rotation[2, 2] > 0  # y left stays level, z has an up part
        assert np.linalg.det(rotation) == pytest.approx(1.0)
    for angle in (0.0, math.pi, 2.5):  # the branches of the quaternion conversion
        c, s = math.cos(angle), math.sin(angle)
        q = rotation_to_quaternion(np.array([[1, 0, 0], [0, c, -s], [0, s, c]]))
        assert abs(q[0]) == pytest.approx(abs(math.sin(angle / 2))) and abs(q[3]) == pytest.approx(
            abs(math.cos(angle / 2)))


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
    hit = render_rays(field, centre, through_cube, samples=128)
    miss = render_rays(field, centre, missing, samples=128)
    np.testing.assert_allclose(hit[0].detach().numpy(), [0.2, 0.4, 0.8], atol=0.02)
    np.testing.assert_allclose(miss[0].detach().numpy(), [1.0, 1.0, 1.0], atol=1e-3)


def test_rays_match_pybullet_camera():
    """A small black ball at a known point, drawn by the data maker (PyBullet), lands where our pose
    maths and pinhole rays put it, to a tenth of a pixel (no half-pixel offset, no mirroring)."""
    import pybullet

    config = TurntableConfig()
    renderer = TurntableRenderer("duck", config)
    rng = np.random.default_rng(4)
    try:
        pybullet.removeBody(renderer.body, physicsClientId=renderer.client)
        shape = pybullet.createVisualShape(pybullet.GEOM_SPHERE, radius=0.1, rgbaColor=[0, 0, 0, 1],
                                           physicsClientId=renderer.client)
        ball = pybullet.createMultiBody(baseVisualShapeIndex=shape, physicsClientId=renderer.client)
        for _ in range(4):
            lat, lon = rng.uniform(0.1, 1.0), rng.uniform(-math.pi, math.pi)
            point = rng.uniform(-0.6, 0.6, 3)
            pybullet.resetBasePositionAndOrientation(ball, point.tolist(), [0, 0, 0, 1],
                                                     physicsClientId=renderer.client)
            darkness = 1.0 - renderer.render(lat, lon).mean(axis=2)
            rows, cols = np.mgrid[0:config.size_px, 0:config.size_px]
            seen = np.array([(darkness * rows).sum(), (darkness * cols).sum()]) / darkness.sum()
            rotation = camera_rotations(torch.tensor(lat), torch.tensor(lon)).numpy()
            centre = camera_centres(torch.tensor(lat), torch.tensor(lon), config.radius).numpy()
            x, y, z = rotation.T @ (point - centre)
            c = (config.size_px - 1) / 2
            expected = np.array([c + focal_px(config) * y / z, c + focal_px(config) * x / z])
            np.testing.assert_allclose(seen, expected, atol=0.1)
            # and the pixel there casts a ray passing through the ball
            _, d = pixel_rays(torch.tensor([lat], dtype=torch.float32), torch.tensor([lon], dtype=torch.float32),
                              config.radius, focal_px(config), config.size_px,
                              torch.from_numpy(np.round(expected)).long()[None])
            to_ball = torch.from_numpy(point - centre).float()
            assert float(torch.linalg.cross(d[0, 0], to_ball).norm()) < 0.1
    finally:
        renderer.close()


def test_bad_image_folders_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        load_image_folder(tmp_path)
    (tmp_path / "a.png").write_bytes(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    (tmp_path / "b.png").write_bytes(cv2.imencode(".png", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    with pytest.raises(ValueError, match=r"mixed sizes \(a\.png is 8x8, b\.png differs\)"):
        load_image_folder(tmp_path)
    (tmp_path / "b.png").unlink()
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt"):
        load_image_folder(tmp_path)
    (tmp_path / "notes.txt").unlink()
    (tmp_path / "c.png").write_text("not really a png")
    with pytest.raises(ValueError, match=r"c\.png"):
        load_image_folder(tmp_path)


def test_cli_on_a_tiny_case_resumes_and_writes_poses(tmp_path, capfd):
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
    from semantic_locomotion.cli import main  # bad input, in process (exit code = main's return value)

    capfd.readouterr()
    assert main(["melon", "--images", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "--images" in capfd.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["melon", "--images", str(tmp_path / "empty"), "--out", str(tmp_path / "y")]) == 2
    err = capfd.readouterr().err
    assert "is empty" in err and "Traceback" not in err
