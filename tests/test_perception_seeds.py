"""bench/perception_seeds.py: class selection (>= 1 % of a seed's walkable pixels), IoU, the per-seed
targets and the worst-seed verdict, on synthetic confusion matrices (no data generation here)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import perception_seeds as ps

CLASSES = ["asphalt", "concrete", "grass", "deep_grass", "sky"]
WALKABLE = ["asphalt", "concrete", "grass", "deep_grass"]


def confusion(rows: dict[str, dict[str, int]]) -> np.ndarray:
    """Rows: ground truth -> {predicted: pixels}."""
    m = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    for gt, preds in rows.items():
        for pred, n in preds.items():
            m[CLASSES.index(gt), CLASSES.index(pred)] = n
    return m


def test_iou_from_confusion_and_absent_classes():
    m = confusion({"asphalt": {"asphalt": 80, "concrete": 20}, "concrete": {"concrete": 50}, "sky": {"sky": 10}})
    iou = ps.class_iou(m)
    assert iou[0] == pytest.approx(80 / 100)  # 20 asphalt pixels called concrete
    assert iou[1] == pytest.approx(50 / 70)  # union: 50 + the 20 false alarms
    assert np.isnan(iou[2]) and np.isnan(iou[3])  # not in the ground truth: no IoU
    assert iou[4] == 1.0


def test_classes_under_one_percent_of_the_walkable_pixels_are_not_scored():
    # 10,000 walkable pixels: concrete has 99 (0.99 %) and is badly segmented, grass 100 (exactly 1 %);
    # the sky's many pixels do not count towards the walkable total
    m = confusion({"asphalt": {"asphalt": 9801}, "concrete": {"concrete": 9, "asphalt": 90},
                   "grass": {"grass": 90, "deep_grass": 10}, "sky": {"sky": 1_000_000}})
    shares = ps.walkable_shares(m, CLASSES, WALKABLE)
    assert shares["concrete"] == pytest.approx(0.0099) and shares["grass"] == pytest.approx(0.01)
    assert shares["deep_grass"] == 0.0
    assert ps.select_classes(m, CLASSES, WALKABLE) == ["asphalt", "grass"]
    s = ps.seed_summary(m, CLASSES, WALKABLE)
    assert s["classes"] == ["asphalt", "grass"]
    # concrete's false alarms still lower asphalt's IoU: 9801 / (9801 + 90)
    assert s["iou"]["asphalt"] == pytest.approx(9801 / 9891)
    assert s["iou"]["grass"] == pytest.approx(0.9)
    assert s["mean_iou"] == pytest.approx((9801 / 9891 + 0.9) / 2)
    assert s["min_iou"] == pytest.approx(0.9) and s["min_class"] == "grass"
    assert s["iou_all_classes"]["concrete"] == pytest.approx(9 / 99)  # reported, not scored
    assert s["iou_all_classes"]["deep_grass"] is None
    assert s["met"]


def test_targets_mean_and_minimum():
    # deep grass taken for grass: a third of deep grass labelled grass
    deep_as_grass = confusion({"asphalt": {"asphalt": 5000}, "concrete": {"concrete": 5000},
                               "grass": {"grass": 1000}, "deep_grass": {"deep_grass": 2000, "grass": 1000}})
    s = ps.seed_summary(deep_as_grass, CLASSES, WALKABLE)
    assert s["iou"]["grass"] == pytest.approx(0.5) and s["iou"]["deep_grass"] == pytest.approx(2 / 3)
    assert s["mean_iou"] == pytest.approx((1 + 1 + 0.5 + 2 / 3) / 4)
    assert not s["mean_met"] and not s["min_met"] and not s["met"]
    # a high mean does not excuse one class below 0.75
    one_low = confusion({"asphalt": {"asphalt": 5000}, "concrete": {"concrete": 5000}, "grass": {"grass": 5000},
                         "deep_grass": {"deep_grass": 740, "grass": 260}})
    s = ps.seed_summary(one_low, CLASSES, WALKABLE)
    assert s["iou"]["deep_grass"] == pytest.approx(0.74)
    assert s["mean_met"] and not s["min_met"] and not s["met"]
    # exactly on both targets passes
    edge = confusion({"asphalt": {"asphalt": 1050}, "concrete": {"concrete": 750, "sky": 250}})
    s = ps.seed_summary(edge, CLASSES, WALKABLE, target_mean=0.875)
    assert s["min_iou"] == pytest.approx(0.75) and s["mean_iou"] == pytest.approx(0.875) and s["met"]


def test_overall_verdict_is_decided_by_the_worst_seed():
    good = ps.seed_summary(confusion({"asphalt": {"asphalt": 990, "concrete": 10}, "concrete": {"concrete": 1000}}),
                           CLASSES, WALKABLE)
    low_mean = ps.seed_summary(confusion({"asphalt": {"asphalt": 800, "concrete": 200},
                                          "concrete": {"concrete": 1000}}), CLASSES, WALKABLE)
    assert good["met"] and low_mean["min_iou"] >= 0.75 and not low_mean["mean_met"]
    verdict = ps.overall({100: good, 101: low_mean, 102: good})
    assert verdict["worst_seed"] == 101 and verdict["worst_mean_iou"] == low_mean["mean_iou"]
    assert verdict["seeds_missing_target"] == [101] and not verdict["targets_met"]
    assert ps.overall({100: good, 102: good})["targets_met"]
    # the lowest class may sit on another seed than the lowest mean
    low_class = ps.seed_summary(confusion({"asphalt": {"asphalt": 100_000}, "concrete": {"concrete": 100_000},
                                           "grass": {"grass": 100_000},
                                           "deep_grass": {"deep_grass": 7000, "grass": 3000}}), CLASSES, WALKABLE)
    verdict = ps.overall({100: low_mean, 101: low_class})
    assert verdict["worst_seed"] == 100 and verdict["lowest_class_seed"] == 101
    assert verdict["lowest_class"] == "deep_grass" and verdict["seeds_missing_target"] == [100, 101]


def test_cached_dataset_is_reused_only_when_complete_and_of_the_same_request(tmp_path):
    folder = tmp_path / "seed_105"
    folder.mkdir()
    card = {"seed": 105, "complete": True, "trails": [{}, {}, {}], "flat_start": True,
            "command": f"semloco dataset --out {folder} --trails 3 --frames-per-trail 20 --seed 105"}
    (folder / "dataset.json").write_text(json.dumps(card))
    assert ps.dataset_ready(folder, 105, 3, 20)
    assert not ps.dataset_ready(folder, 105, 3, 40) and not ps.dataset_ready(folder, 106, 3, 20)
    for stale in ({"complete": False}, {"flat_start": False}):
        (folder / "dataset.json").write_text(json.dumps({**card, **stale}))
        assert not ps.dataset_ready(folder, 105, 3, 20)
    assert not ps.dataset_ready(tmp_path / "seed_999", 999, 3, 20)


def test_table_marks_unscored_and_failing_classes():
    s = ps.seed_summary(confusion({"asphalt": {"asphalt": 9950}, "concrete": {"concrete": 10, "asphalt": 40},
                                   "grass": {"grass": 700, "deep_grass": 300}}), CLASSES, WALKABLE)
    rows = ps.format_table({104: {**s, "frames": 60, "falls": 0}}, WALKABLE)
    cells = [c.strip() for c in rows[2].split("|")[1:-1]]
    assert cells[:3] == ["104", "60", "0"]
    assert cells[4] == "(0.20)"  # concrete: 0.5 % of the walkable pixels, not scored
    assert cells[5] == "**0.700**" and cells[6] == "-"
    assert cells[-2].startswith("0.700") and cells[-1] == "MISSED (mean, min)"


def test_held_out_seeds_are_apart_from_training_and_validation():
    assert len(ps.HELD_OUT_SEEDS) == 10
    assert not set(ps.HELD_OUT_SEEDS) & (set(ps.TRAINING_SEEDS) | set(ps.VALIDATION_SEEDS) | {1})
