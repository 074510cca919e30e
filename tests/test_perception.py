"""Perception mechanics: shapes, checkpoints and their errors, bad images, ONNX = PyTorch, point clouds."""

import numpy as np
import pytest
import torch

from robot_perception.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from robot_perception.inference import ImageError, TerrainPerception, validate_image
from robot_perception.model import (EMBED_DIM, TRAIL_AHEAD_FROM, TerrainNet, embedding_vector, previous_mask_channel,
                                    prior_codes)
from robot_perception.pointcloud import corridor_obstacle, depth_to_points, fit_ground_plane, obstacle_distance
from sim.terrain import load_terrain_catalogue

CLASSES = load_terrain_catalogue().class_names
H, W = 120, 160


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = TerrainNet(len(CLASSES)).eval()
    path = tmp_path_factory.mktemp("ckpt") / "net.pt"
    save_checkpoint(path, model, CLASSES, (H, W))
    return path


def test_model_output_shapes():
    model = TerrainNet(len(CLASSES)).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 4, H, W))
    assert out["logits"].shape == (2, len(CLASSES), H, W)
    assert out["log_depth"].shape == (2, H, W)
    assert out["embedding"].shape == (2, EMBED_DIM, 8, 10)
    vector = embedding_vector(out["embedding"], out["logits"].softmax(dim=1))
    assert vector.shape == (2, EMBED_DIM + len(CLASSES))
    rgb_only = TerrainNet(len(CLASSES), use_previous_mask=False).eval()
    with torch.no_grad():
        assert rgb_only(torch.zeros(1, 3, H, W))["logits"].shape == (1, len(CLASSES), H, W)


def test_embedding_vector_pools_only_the_trail_ahead():
    """The vector must not see the horizon and far verges (they move with body pitch): rows above
    TRAIL_AHEAD_FROM change nothing, rows below do; its class part is a composition summing to 1."""
    generator = torch.Generator().manual_seed(0)
    features = torch.rand(1, EMBED_DIM, 8, 10, generator=generator)
    probabilities = torch.rand(1, len(CLASSES), H, W, generator=generator).softmax(dim=1)
    vector = embedding_vector(features, probabilities)
    top_f, top_p = round(8 * TRAIL_AHEAD_FROM), round(H * TRAIL_AHEAD_FROM)
    changed_top_f, changed_top_p = features.clone(), probabilities.clone()
    changed_top_f[:, :, :top_f] = 5.0
    changed_top_p[:, :, :top_p] = torch.eye(len(CLASSES))[-1][None, :, None, None]
    torch.testing.assert_close(embedding_vector(changed_top_f, changed_top_p), vector)
    assert float(vector[0, EMBED_DIM:].sum()) == pytest.approx(1.0, abs=1e-5)
    # an independent reference for the pooled values
    np.testing.assert_allclose(vector[0, :EMBED_DIM].numpy(), features[0, :, top_f:].numpy().mean(axis=(1, 2)),
                               rtol=1e-5)
    changed_bottom = features.clone()
    changed_bottom[:, :, -1] += 1.0
    assert not torch.allclose(embedding_vector(changed_bottom, probabilities), vector)


def test_previous_mask_channel_encoding():
    codes = prior_codes(12)
    np.testing.assert_allclose(sorted(codes.tolist()), [k / 12 for k in range(1, 13)], rtol=1e-6)  # a permutation
    assert abs(float(codes[2] - codes[3])) >= 5 / 12  # gravel / pebbles far apart
    assert abs(float(codes[4] - codes[5])) >= 5 / 12  # grass / deep_grass far apart
    labels = torch.tensor([[0, 11, 255]])
    channel = previous_mask_channel(labels, 12, (1, 3))
    np.testing.assert_allclose(channel[0, 0, 0].numpy(), [float(codes[0]), float(codes[11]), 0.0])
    assert previous_mask_channel(None, 12, (H, W)).abs().sum() == 0


def test_checkpoint_round_trip_and_classes(checkpoint):
    model, header = load_checkpoint(checkpoint, CLASSES, (H, W))
    assert header["class_names"] == list(CLASSES) and len(header["sha256"]) == 64
    assert isinstance(model, TerrainNet)


def test_checkpoint_errors_say_what_is_wrong(checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a TerrainNet checkpoint"):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="classes"):
        load_checkpoint(checkpoint, CLASSES[:-1] + ("lava",))
    with pytest.raises(CheckpointError, match="320x240"):
        load_checkpoint(checkpoint, CLASSES, (240, 320))
    data = torch.load(checkpoint, weights_only=True)
    first = next(iter(data["state_dict"]))
    data["state_dict"][first] = data["state_dict"][first] + 1.0
    tampered = tmp_path / "tampered.pt"
    torch.save(data, tampered)
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tampered)


def test_bad_images_are_rejected_with_a_reason():
    good = np.zeros((H, W, 3), np.uint8)
    assert validate_image(good, H, W) is good
    with pytest.raises(ImageError, match="empty"):
        validate_image(np.zeros((0, 0, 3), np.uint8), H, W)
    with pytest.raises(ImageError, match="uint8"):
        validate_image(good.astype(np.float32), H, W)
    with pytest.raises(ImageError, match=r"\(H, W, 3\)"):
        validate_image(np.zeros((H, W), np.uint8), H, W)
    with pytest.raises(ImageError, match="160x120, got 320x240"):
        validate_image(np.zeros((240, 320, 3), np.uint8), H, W)


def test_ros_image_conversion_rejects_bad_messages():
    from sensor_msgs.msg import Image

    from robot_perception.ros_images import image_message, image_to_array

    rgb = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    msg = image_message(rgb, "rgb8", _zero_stamp(), "cam")
    assert np.array_equal(image_to_array(msg), rgb)
    bgr = image_message(np.ascontiguousarray(rgb[:, :, ::-1]), "bgr8", msg.header.stamp, "cam")
    assert np.array_equal(image_to_array(bgr), rgb)
    bad = Image(encoding="yuv422", height=H, width=W, step=2 * W, data=bytes(2 * W * H))
    with pytest.raises(ImageError, match="yuv422"):
        image_to_array(bad)
    short = Image(encoding="rgb8", height=H, width=W, step=3 * W, data=bytes(10))
    with pytest.raises(ImageError, match="bytes"):
        image_to_array(short)
    with pytest.raises(ImageError, match="empty"):
        image_to_array(Image(encoding="rgb8", height=0, width=0, step=0, data=b""))


def _zero_stamp():
    from builtin_interfaces.msg import Time

    return Time()


def test_onnx_and_torch_backends_agree(checkpoint):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, (3, H, W, 3), dtype=np.uint8)
    onnx = TerrainPerception(checkpoint, backend="onnx")
    eager = TerrainPerception(checkpoint, backend="torch")
    for image in images:  # three frames: the prior channel is exercised too
        a, b = onnx.process(image), eager.process(image)
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-4)
        np.testing.assert_allclose(a.depth_m, b.depth_m, rtol=1e-4)
        np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-4)
        assert np.mean(a.labels == b.labels) > 0.999


def test_depth_to_points_and_corridor_obstacle():
    # a flat floor 0.3 m below a level camera, and a 0.4 m wall 2 m ahead in the corridor
    k = np.array([[100.0, 0, 79.0], [0, 100.0, 59.0], [0, 0, 1]])
    rows, cols = np.mgrid[0:H, 0:W]
    ray_y = (rows - 59.0) / 100.0
    depth = np.where(ray_y > 0, 0.3 / np.maximum(ray_y, 1e-6), np.inf).astype(np.float32)
    wall = (np.abs(cols - 79) < 10) & (ray_y > 0.15 - 0.4 / 2.0) & (ray_y < 0.15)
    depth[wall] = 2.0
    points, pixels = depth_to_points(depth, k)
    assert points.shape[1] == 3 and len(points) == len(pixels)
    walkable = ~wall[pixels[:, 0], pixels[:, 1]]
    normal, offset = fit_ground_plane(points[walkable])
    np.testing.assert_allclose(normal, [0, -1, 0], atol=1e-3)
    assert offset == pytest.approx(0.3, abs=1e-3)
    report = corridor_obstacle(points, walkable)
    assert report.distance_m == pytest.approx(2.0, abs=0.05)
    clear = corridor_obstacle(points[walkable], np.ones(walkable.sum(), bool))
    assert clear.distance_m is None


def test_obstacle_distance_ignores_sky():
    """Where a trail ends in open sky, a monocular depth guess of a few metres for sky pixels must
    not read as a wall; the same pixels labelled as a bush do."""
    k = np.array([[100.0, 0, 79.0], [0, 100.0, 59.0], [0, 0, 1]])
    rows = np.mgrid[0:H, 0:W][0]
    ray_y = (rows - 59.0) / 100.0
    depth = np.where(ray_y > 0, 0.3 / np.maximum(ray_y, 1e-6), 4.0).astype(np.float32)  # "sky" guessed at 4 m
    ground, sky, bush = CLASSES.index("asphalt"), CLASSES.index("sky"), CLASSES.index("bush")
    labels = np.where(ray_y > 0, ground, sky).astype(np.uint8)
    # the band of guessed sky just above the horizon, 0.1-0.3 m above the ground at 4 m
    assert obstacle_distance(depth, labels, k, [ground], rangeless_ids=(sky,)) == float("inf")
    as_bush = np.where(labels == sky, bush, labels).astype(np.uint8)
    assert obstacle_distance(depth, as_bush, k, [ground], rangeless_ids=(sky,)) == pytest.approx(4.0, abs=0.1)
