"""The verdicts `bench/melon_objects.py` writes for issue 5's modulo ablation, on hand-made rows."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from melon_objects import CURRENT_METHOD, method, modulo_verdict


def rows(*errors: float) -> list[dict]:
    return [{"mean_pose_error_deg": e} for e in errors]


def test_clearly_lower_needs_three_seeds_each():
    assert "too few seeds" in modulo_verdict(rows(60.0, 50.0), rows(1.0, 1.0, 1.0))


def test_clearly_lower_needs_every_seed_below_and_half_the_mean():
    assert "clearly lower: met" in modulo_verdict(rows(40.0, 50.0, 60.0), rows(1.0, 2.0, 30.0))
    # one N = 2 seed as bad as an N = 1 seed: not separated
    assert "clearly lower: not met" in modulo_verdict(rows(40.0, 50.0, 60.0), rows(1.0, 2.0, 45.0))
    # separated, but the means are close
    assert "clearly lower: not met" in modulo_verdict(rows(10.0, 11.0, 12.0), rows(7.0, 8.0, 9.0))


def test_rows_are_labelled_with_the_method_that_made_them():
    current = {"search_candidates": "replicas", "colour_tv_pose_stages": 0.25, "variant": ""}
    assert method(current) == CURRENT_METHOD
    assert method({**current, "variant": "search12"}) == CURRENT_METHOD + ", variant `search12`"
    assert method({"colour_tv_pose_stages": 0.25}).startswith("method B")
    assert method({}).startswith("method A")
