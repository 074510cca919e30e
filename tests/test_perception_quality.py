"""The shipped perception checkpoint on trails it has never seen (a fresh seed, generated here)."""

import pytest

from robot_perception.evaluate import evaluate
from sim.dataset import DatasetRequest, make_dataset


@pytest.fixture(scope="module")
def unseen(tmp_path_factory):
    out = tmp_path_factory.mktemp("unseen")
    make_dataset(DatasetRequest(out, trails=3, frames_per_trail=20, seed=424242))
    return out


def test_shipped_model_meets_the_accuracy_targets(unseen):
    report = evaluate("models/terrain_net.pt", unseen)
    assert report["miou_walkable"] >= 0.85, report["iou"]
    assert report["depth_abs_rel"] <= 0.12
    assert report["depth_delta_1_25"] >= 0.88


def test_previous_mask_lowers_flicker(unseen):
    with_prior = evaluate("models/terrain_net.pt", unseen)
    rgb_only = evaluate("models/terrain_net_rgb_only.pt", unseen)
    assert with_prior["flicker"] < rgb_only["flicker"]
