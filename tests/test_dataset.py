"""`semloco dataset`: deterministic for a seed, readable after an interrupt, documented by its card."""

import json
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from sim.dataset import DatasetRequest, make_dataset, read_index


def load_frame(root, record):
    rgb = cv2.imread(str(root / record["rgb"]), cv2.IMREAD_UNCHANGED)
    labels = cv2.imread(str(root / record["labels"]), cv2.IMREAD_UNCHANGED)
    depth = np.load(root / record["depth"])
    return rgb, labels, depth


def test_dataset_is_deterministic_for_a_seed(tmp_path):
    cards = []
    for name in ("a", "b"):
        cards.append(make_dataset(DatasetRequest(tmp_path / name, trails=1, frames_per_trail=3, seed=11)))
    assert (tmp_path / "a" / "frames.jsonl").read_text() == (tmp_path / "b" / "frames.jsonl").read_text()
    for record in read_index(tmp_path / "a"):
        for left, right in zip(load_frame(tmp_path / "a", record), load_frame(tmp_path / "b", record)):
            assert np.array_equal(left, right)
    card = cards[0]
    assert card["frames"] == 3 and card["complete"] and card["seed"] == 11
    assert card["classes"]["0"] == "asphalt" and "deep_grass" in card["walkable_classes"]
    assert sum(card["pixel_counts"].values()) == 3 * 160 * 120
    on_disk = json.loads((tmp_path / "a" / "dataset.json").read_text())
    assert on_disk["trail_seeds"] == card["trail_seeds"]


def test_frames_hold_consistent_data(tmp_path):
    make_dataset(DatasetRequest(tmp_path, trails=1, frames_per_trail=4, seed=3, burst_frames=2))
    records = read_index(tmp_path)
    assert len(records) == 4
    # two bursts of two consecutive camera frames (15 Hz), spread along the trail
    assert [r["burst"] for r in records] == [0, 0, 1, 1]
    times = [r["time_s"] for r in records]
    assert times[1] - times[0] == pytest.approx(1 / 15, abs=2e-3) and times[2] - times[1] > 1.0
    for record in records:
        rgb, labels, depth = load_frame(tmp_path, record)
        assert rgb.shape == (120, 160, 3) and labels.shape == (120, 160) and depth.shape == (120, 160)
        assert depth.dtype == np.float32
        sky = labels == 11
        assert np.all(np.isinf(depth[sky])) and np.all(np.isfinite(depth[~sky]))
        assert np.array(record["world_from_camera"]).shape == (4, 4)
        assert record["terrain_under_robot"] in {"asphalt", "concrete", "gravel", "pebbles", "grass",
                                                 "deep_grass", "mud", "sand"}


def test_refuses_to_overwrite(tmp_path):
    make_dataset(DatasetRequest(tmp_path, trails=1, frames_per_trail=1, seed=1))
    try:
        make_dataset(DatasetRequest(tmp_path, trails=1, frames_per_trail=1, seed=1))
    except FileExistsError as exc:
        assert "--out" in str(exc)
    else:
        raise AssertionError("expected FileExistsError")


def test_interrupted_run_leaves_readable_frames(tmp_path):
    out = tmp_path / "ds"
    proc = subprocess.Popen([sys.executable, "-m", "semantic_locomotion.cli", "dataset", "--out", str(out),
                             "--trails", "3", "--frames-per-trail", "200", "--seed", "4", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(read_index(out)) < 8:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    records = read_index(out)
    assert len(records) >= 8
    for record in records:
        rgb, labels, depth = load_frame(out, record)
        assert rgb is not None and labels is not None and depth.shape == (120, 160)


def test_max_slope_deg_reaches_the_trails():
    """DatasetRequest.max_slope_deg: 0 gives flat trails (the old flat validation sets), None keeps
    random_trail's default slopes; flat_start (the default) levels only the first segment."""
    from sim.dataset import TrailJob
    from sim.trail import random_trail

    seed = 1016164991
    flat = TrailJob(0, seed, 10, 5, False, max_slope_deg=0.0).trail()
    assert all(s.slope_deg == 0.0 for s in flat.segments)
    assert flat.segments == random_trail(seed, max_slope_deg=0.0).segments
    sloped = random_trail(seed).segments
    assert sloped[0].slope_deg != 0.0 and any(s.slope_deg != 0.0 for s in sloped[1:])
    assert TrailJob(0, seed, 10, 5, False, flat_start=False).trail().segments == sloped
    started_flat = TrailJob(0, seed, 10, 5, False).trail().segments
    assert started_flat[0].slope_deg == 0.0 and started_flat[0].terrain == sloped[0].terrain
    assert started_flat[0].length_m == sloped[0].length_m and started_flat[1:] == sloped[1:]
