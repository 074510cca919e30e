"""`semloco demos`: bags -> (embedding, forward speed) pairs, each image with the command in force."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robot_perception.ros_images import image_message
from semantic_locomotion.bag import BagError, BagWriter
from semantic_locomotion.demos import DemoPairs, demos_to_pairs

MODEL = Path(__file__).parents[1] / "models" / "terrain_net.pt"


def write_episode(path: Path, commands: list[tuple[float, float]], image_times: list[float], seed: int) -> None:
    from geometry_msgs.msg import Twist
    from std_msgs.msg import String

    from sim.demo_recording import stamp_of

    rng = np.random.default_rng(seed)
    events = [(t, "cmd", v) for t, v in commands] + [(t, "img", None) for t in image_times]
    with BagWriter(path) as bag:
        for t, kind, value in sorted(events, key=lambda e: (e[0], e[1] == "img")):
            ns = round(t * 1e9)
            if kind == "cmd":
                twist = Twist()
                twist.linear.x = value
                bag.write_message("/cmd_vel", twist, ns)
            else:
                image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
                bag.write_message("/camera/image_raw", image_message(image, "rgb8", stamp_of(t), "cam"), ns)
                bag.write_message("/trail/terrain", String(data="gravel"), ns)


def test_pairs_take_the_command_in_force_at_each_image(tmp_path):
    # episode 0: standing (0) until 1.0 s, then 0.5 m/s, then 1.2 m/s from 2.0 s
    write_episode(tmp_path / "ep0", [(0.0, 0.0), (1.0, 0.5), (2.0, 1.2)], [0.2, 0.6, 1.0, 1.4, 2.0, 2.4, 2.8], 0)
    write_episode(tmp_path / "ep1", [(0.5, 0.8)], [0.1, 0.5, 0.9, 1.3], 1)  # first image before any command
    pairs = demos_to_pairs(tmp_path, MODEL, label_lag_s=0.0)
    assert pairs.bags == [str(tmp_path / "ep0"), str(tmp_path / "ep1")]
    # ep0: images at 0.2 and 0.6 are dropped (standing before the first move); at 1.0 the command
    # written at the same instant (written first) is in force
    assert pairs.speed_mps.tolist() == pytest.approx([0.5, 0.5, 1.2, 1.2, 1.2, 0.8, 0.8, 0.8])
    assert pairs.episode.tolist() == [0] * 5 + [1] * 3
    assert pairs.time_s.tolist() == pytest.approx([1.0, 1.4, 2.0, 2.4, 2.8, 0.5, 0.9, 1.3])
    assert pairs.embedding.shape == (8, 64 + 12) and np.all(np.isfinite(pairs.embedding))
    assert set(pairs.terrain.tolist()) == {"gravel"}
    assert pairs.minutes == pytest.approx((1.8 + 0.8) / 60)
    pairs.save(tmp_path / "pairs.npz")
    again = DemoPairs.load(tmp_path)
    assert np.array_equal(again.embedding, pairs.embedding) and again.perception_sha256 == pairs.perception_sha256


def test_labels_follow_the_reaction_delay(tmp_path):
    # commands every 0.1 s ramping 0.1 m/s per step; with a 0.4 s lag the image at t is labelled
    # with the command at t + 0.4, and images whose reaction falls after the recording are dropped
    write_episode(tmp_path / "ep0", [(0.1 * k, 0.1 * (k + 1)) for k in range(20)], [0.2, 0.6, 1.0, 1.4, 1.8], 0)
    pairs = demos_to_pairs(tmp_path, MODEL, label_lag_s=0.4)
    assert pairs.time_s.tolist() == pytest.approx([0.2, 0.6, 1.0, 1.4])
    assert pairs.speed_mps.tolist() == pytest.approx([0.7, 1.1, 1.5, 1.9])


def test_errors_name_what_is_missing(tmp_path):
    with pytest.raises(BagError, match="no bags"):
        demos_to_pairs(tmp_path, MODEL)
    write_episode(tmp_path / "ep0", [], [0.1, 0.2], 0)
    with pytest.raises(BagError, match="no \\(image, command\\) pairs"):
        demos_to_pairs(tmp_path, MODEL, label_lag_s=0.0)
    with pytest.raises(BagError, match="semloco demos"):
        DemoPairs.load(tmp_path / "nothing.npz")


def test_cli_demos_then_train_speed(tmp_path):
    for e in range(3):
        write_episode(tmp_path / "bags" / f"ep{e}", [(0.0, 0.4 + 0.4 * e)], [0.1 * k for k in range(1, 12)], e)
    root = Path(__file__).parents[1]
    out = subprocess.run([sys.executable, "-m", "semantic_locomotion.cli", "demos", str(tmp_path / "bags"),
                          "--perception-model", str(MODEL), "--label-lag", "0", "--quiet"], cwd=root,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["pairs"] == 33
    out = subprocess.run([sys.executable, "-m", "semantic_locomotion.cli", "train", "speed", "--demos",
                          str(tmp_path / "bags"), "--out", str(tmp_path / "speed.pt"), "--epochs", "5", "--quiet"],
                         cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "speed.md").read_text().startswith("# Speed policy")
    out = subprocess.run([sys.executable, "-m", "semantic_locomotion.cli", "train", "speed", "--demos",
                          str(tmp_path / "nowhere"), "--quiet"], cwd=root, capture_output=True, text=True)
    assert out.returncode == 2 and "not found" in out.stderr
