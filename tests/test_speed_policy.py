"""Speed policy: the obstacle cap, smoothing and staleness at run time, checkpoints that refuse the
wrong embedding, and imitation training that learns a terrain -> speed rule from pairs."""

import json
import math

import numpy as np
import pytest
import torch

from locomotion.speed_policy import (ObstacleCapConfig, SpeedPolicy, SpeedPolicyConfig, SpeedPolicyError,
                                     SpeedPolicyNet, load_speed_policy, load_speed_policy_config,
                                     obstacle_speed_cap, save_speed_policy)
from locomotion.speed_training import (
    SpeedTrainingConfig, band_weights, evaluate_speed_policy, split_episodes, train_speed_policy)
from semantic_locomotion.demos import DemoPairs
import itertools


def constant_net(speed: float) -> SpeedPolicyNet:
    net = SpeedPolicyNet(4, 8, 0.0, 1.6)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.mlp[-1].bias.fill_(math.log(speed / (1.6 - speed)))  # sigmoid^-1
    return net.eval()


def test_obstacle_cap_stops_short_and_brakes_in_time():
    cfg = ObstacleCapConfig(stop_distance_m=0.8, brake_decel_mps2=0.5)
    assert obstacle_speed_cap(None, cfg) == math.inf
    assert obstacle_speed_cap(float("inf"), cfg) == math.inf
    assert obstacle_speed_cap(float("nan"), cfg) == math.inf  # no ground in view: unknown, not an obstacle
    assert obstacle_speed_cap(0.5, cfg) == 0.0
    assert obstacle_speed_cap(0.8, cfg) == 0.0
    v = obstacle_speed_cap(2.8, cfg)
    assert v == pytest.approx(math.sqrt(2 * 0.5 * 2.0))
    assert v**2 / (2 * 0.5) == pytest.approx(2.8 - 0.8)  # braking distance from v ends at the stop distance
    caps = [obstacle_speed_cap(d, cfg) for d in np.linspace(0.0, 6.0, 61)]
    assert np.all(np.diff(caps) >= 0)


def test_runtime_policy_smooths_caps_and_goes_stale():
    config = SpeedPolicyConfig(smoothing_time_constant_s=0.3, stale_after_s=1.0, speed_up_hold_m=0.0,
                               obstacle=ObstacleCapConfig(stop_distance_m=0.8, confirm_frames=2, remember_within_m=0.0))
    policy = SpeedPolicy(constant_net(1.2), config)
    assert policy.command(0.0) == 0.0  # nothing seen yet: stand
    embedding = np.zeros(4, dtype=np.float32)
    policy.observe_obstacle(float("inf"), 0.0)  # a clear corridor (with none yet the slow gait's speed caps it)
    assert policy.observe_features(embedding, 0.0) == pytest.approx(1.2, abs=1e-5)
    policy.net = constant_net(0.4)
    after = policy.observe_features(embedding, 0.2)
    assert 0.4 < after < 1.2  # low-passed, not a jump
    assert after == pytest.approx(0.4 + 0.8 * math.exp(-0.2 / 0.3), abs=1e-4)
    policy.observe_obstacle(1.0, 0.3)
    assert policy.command(0.3) == after  # one reading is not enough
    policy.observe_obstacle(1.0, 0.3)
    assert policy.command(0.3) == pytest.approx(math.sqrt(2 * 0.5 * 0.2))
    policy.observe_obstacle(float("inf"), 0.3)
    assert policy.command(0.3) == after
    assert policy.command(1.3) == 0.0  # no embedding for over a second: stop
    with pytest.raises(SpeedPolicyError, match="shape"):
        policy.observe_features(np.zeros(5, dtype=np.float32), 2.0)
    with pytest.raises(SpeedPolicyError, match="NaN"):
        policy.observe_features(np.array([0, np.nan, 0, 0], dtype=np.float32), 2.0)


def test_a_close_obstacle_is_remembered_when_the_view_loses_it():
    config = SpeedPolicyConfig(smoothing_time_constant_s=0.0, speed_up_hold_m=0.0,
                               obstacle=ObstacleCapConfig(stop_distance_m=1.0, confirm_frames=1, remember_within_m=2.5,
                                                          remember_confirm_frames=1))
    policy = SpeedPolicy(constant_net(1.0), config)
    embedding = np.zeros(4, dtype=np.float32)
    policy.observe_features(embedding, 0.0)
    policy.observe_obstacle(4.0, 0.0)  # far: capped, not remembered
    assert policy.command(0.0) == pytest.approx(1.0)  # sqrt(2*0.5*3) > 1
    policy.observe_obstacle(float("inf"), 0.0)
    assert policy.command(0.0) == pytest.approx(1.0)
    policy.observe_obstacle(2.0, 0.0)  # close: remembered
    t, speeds = 0.0, []
    for _ in range(100):
        policy.observe_obstacle(float("nan"), t)  # the boulder fills the view: no ground, no reading
        t += 0.05
        policy.observe_features(embedding, t)
        speeds.append(policy.command(t))
    travelled = sum(v * 0.05 for v in speeds)
    assert speeds[-1] == 0.0 and 0.8 < travelled <= 1.0 + 1e-6  # stopped stop_distance_m short of it
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(speeds))  # braking, never speeding up
    for _ in range(10):  # stopped in front of it: clear readings do not release it
        policy.observe_obstacle(float("inf"), t)
    assert policy.command(t) == 0.0


def test_once_stopped_for_an_obstacle_readings_just_past_the_stop_distance_do_not_restart_it():
    config = SpeedPolicyConfig(smoothing_time_constant_s=0.0, speed_up_hold_m=0.0,
                               obstacle=ObstacleCapConfig(stop_distance_m=2.0, confirm_frames=2, remember_within_m=0.0,
                                                          resume_margin_m=0.5))
    policy = SpeedPolicy(constant_net(1.0), config)
    embedding = np.zeros(4, dtype=np.float32)
    policy.observe_features(embedding, 0.0)
    for d in (2.2, 2.2):  # approaching: a little past the stop distance still allows creeping
        policy.observe_obstacle(d, 0.0)
    assert policy.command(0.0) == pytest.approx(math.sqrt(2 * 0.5 * 0.2))
    for d in (1.95, 1.95):  # reached: stopped
        policy.observe_obstacle(d, 0.0)
    assert policy.command(0.0) == 0.0
    for d in (2.1, 2.3, 2.45, 2.2):  # the robot rocks in place: inside the band it stays stopped
        policy.observe_obstacle(d, 0.0)
        assert policy.command(0.0) == 0.0
    for d in (2.8, 2.8):  # the obstacle moved well away: the braking law again
        policy.observe_obstacle(d, 0.0)
    assert policy.command(0.0) == pytest.approx(math.sqrt(2 * 0.5 * 0.8))


def test_the_resume_margin_must_not_be_negative():
    with pytest.raises(ValueError, match="resume_margin_m"):
        ObstacleCapConfig(resume_margin_m=-0.1)


def test_a_remembered_false_alarm_is_forgotten_when_the_view_stays_clear():
    config = SpeedPolicyConfig(smoothing_time_constant_s=0.0, speed_up_hold_m=0.0,
                               obstacle=ObstacleCapConfig(stop_distance_m=1.0, confirm_frames=2, remember_within_m=2.5,
                                                          remember_confirm_frames=3, forget_after_clear_frames=4))
    policy = SpeedPolicy(constant_net(1.4), config)
    embedding = np.zeros(4, dtype=np.float32)
    policy.observe_features(embedding, 0.0)
    for d in (2.3, 2.2):  # two readings: capped, but not remembered
        policy.observe_obstacle(d, 0.0)
    policy.observe_obstacle(float("inf"), 0.0)
    assert policy.command(0.0) == pytest.approx(1.4)
    for d in (2.3, 2.2, 2.1):  # three in a row: remembered
        policy.observe_obstacle(d, 0.0)
    for _ in range(3):
        policy.observe_obstacle(float("inf"), 0.0)
    assert policy.command(0.0) == pytest.approx(math.sqrt(2 * 0.5 * 1.1))  # still remembered
    policy.observe_obstacle(float("inf"), 0.0)
    assert policy.command(0.0) == pytest.approx(1.4)  # four clear views: a false alarm


def test_speeds_up_only_after_walking_past_what_made_it_slow():
    config = SpeedPolicyConfig(smoothing_time_constant_s=0.0, speed_up_hold_m=1.2)
    policy = SpeedPolicy(constant_net(0.5), config)
    embedding = np.zeros(4, dtype=np.float32)
    t = 0.0
    for _ in range(10):  # deep grass in view
        policy.observe_obstacle(float("inf"), t)
        assert policy.observe_features(embedding, t) == pytest.approx(0.5, abs=1e-5)
        t += 0.2
    policy.net = constant_net(1.4)  # the camera now sees asphalt; the hind legs are still in the grass
    speeds = []
    for _ in range(20):
        policy.observe_obstacle(float("inf"), t)
        speeds.append(policy.observe_features(embedding, t))
        t += 0.2
    held = [v for v in speeds if v < 1.0]
    assert len(held) * 0.2 == pytest.approx(1.2 / 0.5, abs=0.21)  # 1.2 m at 0.5 m/s
    assert speeds[-1] == pytest.approx(1.4, abs=1e-5)
    policy.net = constant_net(0.5)  # slowing down is immediate
    policy.observe_obstacle(float("inf"), t)
    assert policy.observe_features(embedding, t) == pytest.approx(0.5, abs=1e-5)


def unknown_test_policy(speed: float = 1.4) -> SpeedPolicy:
    config = SpeedPolicyConfig(smoothing_time_constant_s=0.0, speed_up_hold_m=0.0,
                               obstacle=ObstacleCapConfig(stop_distance_m=1.0, confirm_frames=2, remember_within_m=2.5,
                                                          unknown_after_s=0.5, unknown_speed_cap_mps=0.5))
    return SpeedPolicy(constant_net(speed), config)


def test_no_reading_yet_caps_the_speed_to_the_slow_gait():
    policy = unknown_test_policy()
    embedding = np.zeros(4, dtype=np.float32)
    for t in np.arange(0.0, 3.0, 0.2):  # embeddings arrive, the depth check has said nothing
        assert policy.observe_features(embedding, t) == pytest.approx(0.5)
    policy.observe_obstacle(float("nan"), 3.0)  # and its first word is "unknown"
    assert policy.command(3.0) == pytest.approx(0.5)
    policy.observe_obstacle(float("inf"), 3.2)  # a valid clear reading lifts it
    assert policy.observe_features(embedding, 3.2) == pytest.approx(1.4, abs=1e-5)


def test_nan_readings_cap_the_speed_after_the_configured_time_and_clear_lifts_it():
    policy = unknown_test_policy()
    embedding = np.zeros(4, dtype=np.float32)
    policy.observe_obstacle(float("inf"), 0.0)
    policy.observe_features(embedding, 0.0)
    speeds = {}
    for t in (0.2, 0.4, 0.6, 0.8):
        policy.observe_obstacle(float("nan"), t)  # a crest: the ground beyond drops out of sight
        speeds[t] = policy.observe_features(embedding, t)
    assert speeds[0.2] == speeds[0.4] == pytest.approx(1.4, abs=1e-5)  # within unknown_after_s of the last clear one
    assert speeds[0.6] == speeds[0.8] == pytest.approx(0.5)  # then the slow gait's speed
    policy.observe_obstacle(float("inf"), 1.0)
    assert policy.observe_features(embedding, 1.0) == pytest.approx(1.4, abs=1e-5)


def test_a_nan_reading_does_not_lift_an_obstacle_cap():
    policy = unknown_test_policy()
    embedding = np.zeros(4, dtype=np.float32)
    policy.observe_features(embedding, 0.0)
    for _ in range(2):
        policy.observe_obstacle(2.8, 0.0)  # confirmed, too far to be remembered
    capped = math.sqrt(2 * 0.5 * 1.8)
    assert policy.command(0.0) == pytest.approx(capped)
    policy.observe_obstacle(float("nan"), 0.2)
    assert policy.command(0.2) == pytest.approx(capped)  # unknown is not clear
    policy.observe_obstacle(float("inf"), 0.4)
    assert policy.command(0.4) == pytest.approx(1.4, abs=1e-5)


def test_a_depth_check_that_stops_publishing_goes_stale():
    policy = unknown_test_policy()
    embedding = np.zeros(4, dtype=np.float32)
    policy.observe_obstacle(float("inf"), 0.0)
    speeds = {}
    for t in (0.0, 0.3, 0.5, 0.7, 2.0):  # embeddings keep coming, obstacle readings do not
        speeds[t] = policy.observe_features(embedding, t)
    assert speeds[0.0] == speeds[0.3] == speeds[0.5] == pytest.approx(1.4, abs=1e-5)
    assert speeds[0.7] == speeds[2.0] == pytest.approx(0.5)
    policy.observe_obstacle(float("inf"), 2.1)
    assert policy.command(2.1) == pytest.approx(1.4, abs=1e-5)
    with pytest.raises(ValueError, match="unknown_after_s"):
        ObstacleCapConfig(unknown_after_s=0.0)


def test_shipped_unknown_cap_is_the_slow_gait_speed():
    from locomotion.config import config_dir, load_yaml

    obstacle = load_speed_policy_config().obstacle
    slow = min(load_yaml(config_dir() / "gait_selector.yaml")["anchors"], key=lambda a: a["speed_mps"])
    assert slow["gait"] == "slow" and obstacle.unknown_speed_cap_mps == slow["speed_mps"] == 0.5
    assert 0 < obstacle.unknown_after_s <= 1.0


def test_checkpoint_refuses_other_perception_and_corruption(tmp_path):
    path = tmp_path / "speed.pt"
    save_speed_policy(path, constant_net(1.0), perception_sha256="a" * 64)
    net, header = load_speed_policy(path, "a" * 64)
    assert header["perception_sha256"] == "a" * 64
    with torch.no_grad():
        assert float(net(torch.zeros(1, 4))[0]) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(SpeedPolicyError, match="retrain"):
        load_speed_policy(path, "b" * 64)
    with pytest.raises(SpeedPolicyError, match="does not exist"):
        load_speed_policy(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not torch")
    with pytest.raises(SpeedPolicyError, match="not a speed-policy checkpoint"):
        load_speed_policy(tmp_path / "junk.pt")
    data = torch.load(path, weights_only=True)
    data["state_dict"]["mlp.0.weight"] += 1.0
    torch.save(data, tmp_path / "tampered.pt")
    with pytest.raises(SpeedPolicyError, match="corrupted"):
        load_speed_policy(tmp_path / "tampered.pt")


def test_shipped_run_time_config_loads():
    config = load_speed_policy_config()
    assert config.decision_rate_hz > 0 and config.obstacle.stop_distance_m > 0


def test_episode_split_holds_out_whole_episodes():
    episodes = np.repeat(np.arange(10), 7)
    train, val = split_episodes(episodes, 0.2, seed=0)
    assert set(episodes[train]).isdisjoint(episodes[val])
    assert len(set(episodes[val])) == 2 and (train | val).all()
    with pytest.raises(ValueError, match="at least 2 episodes"):
        split_episodes(np.zeros(5, dtype=int), 0.2, 0)


def test_speed_bands_weigh_the_same_in_the_loss():
    speeds = np.array([0.5] * 8 + [1.0] * 3 + [1.4] * 1)  # fast terrain is rare
    weights = band_weights(speeds, (0.65, 0.9, 1.15))
    assert weights.mean() == pytest.approx(1.0)
    per_band = [weights[speeds == v].sum() for v in (0.5, 1.0, 1.4)]
    np.testing.assert_allclose(per_band, per_band[0])  # each band's total weight is equal
    np.testing.assert_allclose(band_weights(np.full(5, 0.7), (0.65, 0.9)), 1.0)  # one band: plain mean


def synthetic_pairs(n_episodes=10, per_episode=60, seed=0) -> DemoPairs:
    """Three 'terrains' as clusters in a 16-d embedding, each with its own demonstrated speed."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (3, 16))
    speeds = np.array([0.5, 1.0, 1.4])
    terrain = rng.integers(0, 3, n_episodes * per_episode)
    embedding = (centres[terrain] + 0.3 * rng.normal(0, 1, (len(terrain), 16))).astype(np.float32)
    speed = (speeds[terrain] + 0.04 * rng.normal(0, 1, len(terrain))).astype(np.float32)
    episode = np.repeat(np.arange(n_episodes), per_episode)
    time_s = np.tile(np.arange(per_episode) * 0.2, n_episodes)
    names = np.array(["deep_grass", "gravel", "asphalt"])[terrain]
    return DemoPairs(embedding, speed, episode, time_s, names, [f"ep{i}" for i in range(n_episodes)], "c" * 64)


def test_imitation_learns_the_demonstrated_speeds(tmp_path):
    pairs = synthetic_pairs()
    pairs.save(tmp_path / "pairs.npz")
    pairs = DemoPairs.load(tmp_path)
    report = train_speed_policy(pairs, tmp_path / "speed.pt", SpeedTrainingConfig(epochs=60), progress=False)
    assert report["val_mae_mps"] < 0.1 < report["val_mae_predict_mean_mps"]
    assert {"deep_grass", "gravel", "asphalt"} == set(report["per_terrain_validation"])
    for row in report["per_terrain_validation"].values():
        assert abs(row["predicted_mps"] - row["demonstrated_mps"]) < 0.1
    for suffix in (".md", ".train.json", ".train.png"):
        assert (tmp_path / f"speed{suffix}").is_file()
    _net, header = load_speed_policy(tmp_path / "speed.pt", "c" * 64)
    assert header["val_mae_mps"] == report["val_mae_mps"]


def test_test_episodes_choose_nothing_and_are_reported_apart(tmp_path):
    """Training with test pairs gives the same choice (epoch, weights) as without them; the test figure
    is the chosen network's error on exactly the test pairs; the card shows validation (selection)
    and test (report-only) apart; test pairs sharing an episode with the training pairs are refused."""
    import dataclasses

    pairs = synthetic_pairs()
    test = dataclasses.replace(synthetic_pairs(n_episodes=3, seed=0), bags=["t0", "t1", "t2"])
    test.embedding = test.embedding + np.float32(0.05)  # other frames of the same terrains
    config = SpeedTrainingConfig(epochs=40)
    alone = train_speed_policy(pairs, tmp_path / "alone.pt", config, progress=False)
    with_test = train_speed_policy(pairs, tmp_path / "with.pt", config, progress=False, test_pairs=test)
    assert (with_test["best_epoch"], with_test["sha256"]) == (alone["best_epoch"], alone["sha256"])
    assert "test" not in alone and set(with_test["validation_episodes"]) <= set(range(10))
    net, header = load_speed_policy(tmp_path / "with.pt", "c" * 64)
    direct = evaluate_speed_policy(net, test, "c" * 64)
    assert with_test["test"]["mae_mps"] == pytest.approx(direct["mae_mps"]) == pytest.approx(header["test_mae_mps"])
    assert with_test["test"]["bags"] == ["t0", "t1", "t2"] and with_test["test"]["pairs"] == 180
    card = (tmp_path / "with.md").read_text()
    assert "## Validation (selection" in card and "## Test (episodes recorded apart; they chose nothing)" in card
    assert f"{with_test['test']['mae_mps']:.3f}" in card.split("## Test")[1]
    assert "No test demonstrations" in (tmp_path / "alone.md").read_text()
    overlapping = dataclasses.replace(test, bags=["t0", "ep3", "t2"])
    with pytest.raises(ValueError, match="ep3"):
        train_speed_policy(pairs, tmp_path / "bad.pt", config, progress=False, test_pairs=overlapping)
    assert not (tmp_path / "bad.pt").exists()


def test_training_refuses_more_than_the_demonstration_budget(tmp_path):
    pairs = synthetic_pairs()
    pairs.time_s = pairs.time_s * 100  # 10 episodes of ~20 minutes each
    with pytest.raises(ValueError, match="max_demo_minutes"):
        train_speed_policy(pairs, tmp_path / "speed.pt", SpeedTrainingConfig(epochs=1), progress=False)


def subset(pairs: DemoPairs, keep: np.ndarray) -> DemoPairs:
    return DemoPairs(pairs.embedding[keep], pairs.speed_mps[keep], pairs.episode[keep], pairs.time_s[keep],
                     pairs.terrain[keep], pairs.bags, pairs.perception_sha256)


def test_a_trained_policy_is_evaluated_on_episodes_it_never_saw(tmp_path, capsys):
    """`semloco eval speed`: the test figure of a policy on held-out episodes (here the last 4 of 14,
    never in training or validation), per terrain and per episode; pairs of another perception are
    refused, and a missing pairs file is exit code 2 with its name."""
    from locomotion.speed_training import evaluate_speed_policy
    from semantic_locomotion.cli import main

    pairs = synthetic_pairs(n_episodes=14)
    test = pairs.episode >= 10
    train_speed_policy(subset(pairs, ~test), tmp_path / "speed.pt", SpeedTrainingConfig(epochs=60), progress=False)
    net, header = load_speed_policy(tmp_path / "speed.pt")
    report = evaluate_speed_policy(net, subset(pairs, test), header["perception_sha256"])
    assert report["pairs"] == int(test.sum()) and report["episodes"] == 4
    assert report["mae_mps"] < 0.1 < report["mae_predict_mean_mps"]
    assert set(report["per_terrain"]) == {"deep_grass", "gravel", "asphalt"}
    assert set(report["per_episode"]) == {"10", "11", "12", "13"}
    with pytest.raises(ValueError, match="semloco demos"):
        evaluate_speed_policy(net, subset(pairs, test), "d" * 64)
    subset(pairs, test).save(tmp_path / "pairs.npz")
    out = tmp_path / "eval.json"
    assert main(["eval", "speed", "--demos", str(tmp_path), "--model", str(tmp_path / "speed.pt"),
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["mae_mps"] == pytest.approx(report["mae_mps"])
    capsys.readouterr()
    assert main(["eval", "speed", "--demos", str(tmp_path / "nowhere"), "--model", str(tmp_path / "speed.pt")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_depth_and_pose_inputs_are_used_when_asked(tmp_path):
    """The speed depends on the slope (pose input) only: with the semantic vector alone the policy
    cannot learn it, with the pose it does; the header records the inputs and a pairs file
    without them is refused by name."""
    pairs = synthetic_pairs()
    rng = np.random.default_rng(3)
    n = len(pairs.speed_mps)
    slope = rng.uniform(-10, 10, n).astype(np.float32)
    pairs.speed_mps = (1.0 - 0.04 * np.abs(slope)).astype(np.float32)
    with pytest.raises(ValueError, match="no depth or pose inputs"):
        pairs.features(("semantic", "depth", "pose"))
    pairs.pose = np.stack([slope, np.zeros(n), np.zeros(n), np.full(n, 0.35), np.ones(n)], axis=1).astype(np.float32)
    pairs.depth_summary = np.zeros((n, 10), np.float32)
    pairs.save(tmp_path / "pairs.npz")
    pairs = DemoPairs.load(tmp_path)
    assert pairs.features(("pose", "semantic")).shape == (n, 16 + 5)  # always in POLICY_INPUTS order
    blind = train_speed_policy(pairs, tmp_path / "blind.pt", SpeedTrainingConfig(epochs=60), progress=False)
    seeing = train_speed_policy(pairs, tmp_path / "seeing.pt",
                                SpeedTrainingConfig(epochs=60, inputs=("semantic", "depth", "pose")), progress=False)
    assert seeing["val_mae_mps"] < 0.05 < 0.08 < blind["val_mae_mps"]
    net, header = load_speed_policy(tmp_path / "seeing.pt", "c" * 64)
    assert header["inputs"] == ["semantic", "depth", "pose"] and net.embed_dim == 16 + 10 + 5
    report = evaluate_speed_policy(net, pairs, "c" * 64, ("semantic", "depth", "pose"))
    assert report["sloped"]["frames"] + report["level"]["frames"] == n and report["mae_mps"] < 0.05


def test_policy_node_feeds_the_pose_and_depth_it_reads_and_caps_a_frame_without_them(ros_context, tmp_path):
    """The speed policy node with a policy of all three input groups: an embedding with no depth
    summary or pose received yet decides on zeros for them, held to the slow gait's speed; with both
    fresh, the policy sees exactly [embedding, depth summary, pose input]; once they are older than
    geometry_timeout_s the frame is capped again. A checkpoint for another ground-pose model is refused."""
    import rclpy
    from std_msgs.msg import Float32MultiArray

    from locomotion.speed_policy import policy_features, pose_input, save_speed_policy
    from locomotion.speed_policy_node import SpeedPolicyNode
    from robot_perception.checkpoint import load_checkpoint
    from robot_perception.ground_pose import load_ground_pose
    from robot_perception.node_setup import default_checkpoint, shipped_model

    torch.manual_seed(5)
    net = SpeedPolicyNet(76 + 10 + 5, 16, 0.0, 1.6)
    with torch.no_grad():
        net.mlp[-1].bias.fill_(2.0)  # fast unless the inputs say otherwise
    perception_sha = load_checkpoint(default_checkpoint())[1]["sha256"]
    pose_sha = load_ground_pose(shipped_model("ground_pose.pt"))[1]["sha256"]
    model = tmp_path / "all.pt"
    save_speed_policy(model, net, perception_sha, {"inputs": ["semantic", "depth", "pose"],
                                                   "ground_pose_sha256": pose_sha})
    rclpy.init(args=["--ros-args", "-p", f"model:={model}", "-p", "geometry_timeout_s:=0.5"])
    node = SpeedPolicyNode()
    try:
        rng = np.random.default_rng(0)
        embedding = rng.normal(size=76).astype(np.float32)
        summary = np.concatenate([rng.normal(0, 0.1, 5), np.ones(5)]).astype(np.float32)
        fields = np.array([-7.0, 0.5, np.nan, 0.36, 0.0], np.float32)  # a descent, the far ground out of sight
        message = lambda values: Float32MultiArray(data=[float(v) for v in values])
        node.on_embedding(message(embedding))
        blind = node.policy.predict(policy_features(node.inputs, embedding, np.zeros(10), np.zeros(5)))
        assert blind > 0.6 and node.policy.raw == pytest.approx(0.5)  # held to the slow gait
        node.on_geometry("depth", message(summary))
        node.on_geometry("pose", message(fields))
        node.on_embedding(message(embedding))
        seeing = node.policy.predict(policy_features(node.inputs, embedding, summary, pose_input(fields)))
        assert node.policy.raw == pytest.approx(seeing) and seeing != pytest.approx(blind)
        received = {g: (t - 1.0, v) for g, (t, v) in node.geometry.items()}  # as if 1 s old
        node.geometry.update(received)
        node.on_embedding(message(embedding))
        assert node.policy.raw == pytest.approx(min(blind, 0.5))
    finally:
        node.destroy_node()
        rclpy.shutdown()
    save_speed_policy(model, net, perception_sha, {"inputs": ["semantic", "depth", "pose"],
                                                   "ground_pose_sha256": "e" * 64})
    with pytest.raises(SpeedPolicyError, match="ground-pose"):
        load_speed_policy(model, perception_sha, pose_sha)
