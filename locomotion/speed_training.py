"""`semloco train speed`: imitation learning of the speed policy from demonstration pairs.

Supervised regression of the operator's forward speed on the frozen semantic embedding (pairs
from `semloco demos`). The validation split holds out whole episodes (bags), so frames seen from
almost the same place never sit on both sides. Huber loss, Adam with weight decay, early stopping
on validation MAE (the best epoch's weights are kept). Writes the checkpoint, a model card (.md),
a JSON training log and a plot of the losses and of predicted vs demonstrated speed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from locomotion.speed_policy import SpeedPolicyNet, save_speed_policy
from semantic_locomotion.demos import DemoPairs


@dataclasses.dataclass
class SpeedTrainingConfig:
    epochs: int = 300
    batch_size: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    hidden: int = 64
    validation_fraction: float = 0.2
    max_demo_minutes: float = 30.0  # the acceptance budget: refuse to train on more
    seed: int = 0
    min_speed_mps: float = 0.0
    max_speed_mps: float = 1.6
    # Pairs are weighted so that each band of demonstrated speed (edges in m/s) weighs the same in the
    # loss: fast rigid terrain is a small share of most trails, and unweighted it was under-predicted.
    speed_band_edges_mps: tuple[float, ...] = (0.65, 0.9, 1.15)
    min_feature_std: float = 0.02  # floor of the normalisation: near-constant inputs must not blow up
    # the input groups (locomotion.speed_policy.POLICY_INPUTS): the semantic embedding vector, the corridor's
    # depth summary, the inferred ground pose
    inputs: tuple[str, ...] = ("semantic",)


def split_episodes(episodes: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, validation) holding out about ``fraction`` of the episodes."""
    ids = np.unique(episodes)
    if len(ids) < 2:
        raise ValueError(f"demos: need at least 2 episodes for an episode-wise validation split, got {len(ids)}")
    rng = np.random.default_rng(seed)
    n_val = min(max(1, round(fraction * len(ids))), len(ids) - 1)
    val_ids = rng.choice(ids, size=n_val, replace=False)
    val = np.isin(episodes, val_ids)
    return ~val, val


def band_weights(speed_mps: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Per-pair loss weights (mean 1) that make every speed band weigh the same; empty bands are skipped."""
    band = np.digitize(speed_mps, edges)
    counts = np.bincount(band, minlength=len(edges) + 1)
    weights = 1.0 / counts[band]
    return weights / weights.mean()


def shared_episodes(train: DemoPairs, test: DemoPairs) -> list[str]:
    """Bags of ``test`` that are also in ``train`` (by path or by bag name: `semloco demonstrate` names
    each episode after its seed and index, so a copy of a bag elsewhere is still the same episode)."""
    def keys(bags):
        return {Path(b).resolve().as_posix() for b in bags} | {Path(b).name for b in bags}

    known = keys(train.bags)
    return [b for b in test.bags if Path(b).resolve().as_posix() in known or Path(b).name in known]


def train_speed_policy(pairs: DemoPairs, out: Path, config: SpeedTrainingConfig, command: str = "",
                       progress: bool = True, test_pairs: DemoPairs | None = None) -> dict:
    """Train on ``pairs`` (their validation episodes choose the epoch) and write the checkpoint, card,
    log and plot. ``test_pairs`` (episodes recorded apart; refused if any is among ``pairs``) are only
    evaluated after the choice, and reported in the card apart from the validation figures."""
    minutes = pairs.minutes
    if minutes > config.max_demo_minutes:
        raise ValueError(f"demos: {minutes:.1f} minutes of demonstrations, more than max_demo_minutes "
                         f"({config.max_demo_minutes}); use fewer bags or raise the limit knowingly")
    if test_pairs is not None and (shared := shared_episodes(pairs, test_pairs)):
        raise ValueError(f"test demos: {len(shared)} episode(s) are also training demonstrations "
                         f"({', '.join(Path(b).name for b in shared[:3])}); record the test set apart")
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny MLP: more threads only add synchronisation (8x slower on 2 cores)
    try:
        return _train(pairs, out, config, command, progress, minutes, test_pairs)
    finally:
        torch.set_num_threads(threads)


def _train(pairs: DemoPairs, out: Path, config: SpeedTrainingConfig, command: str, progress: bool,
           minutes: float, test_pairs: DemoPairs | None) -> dict:
    from tqdm import tqdm

    train_mask, val_mask = split_episodes(pairs.episode, config.validation_fraction, config.seed)
    x = torch.from_numpy(pairs.features(config.inputs))
    y = torch.from_numpy(pairs.speed_mps.astype(np.float32))
    net = SpeedPolicyNet(x.shape[1], config.hidden, config.min_speed_mps, config.max_speed_mps)
    net.mean.copy_(x[train_mask].mean(0))
    net.std.copy_(x[train_mask].std(0).clamp_min(config.min_feature_std))
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs)
    xt, yt, xv, yv = x[train_mask], y[train_mask], x[val_mask], y[val_mask]
    wt = torch.from_numpy(band_weights(yt.numpy(), config.speed_band_edges_mps).astype(np.float32))
    generator = torch.Generator().manual_seed(config.seed)
    log, best = [], (np.inf, None, -1)
    start = time.perf_counter()
    for epoch in tqdm(range(config.epochs), desc="train speed", unit="epoch", disable=not progress):
        net.train()
        order = torch.randperm(len(xt), generator=generator)
        losses = []
        for i in range(0, len(order), config.batch_size):
            idx = order[i: i + config.batch_size]
            loss = (torch.nn.functional.huber_loss(net(xt[idx]), yt[idx], delta=0.2, reduction="none")
                    * wt[idx]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        scheduler.step()
        net.eval()
        with torch.no_grad():
            train_mae = float((net(xt) - yt).abs().mean())
            val_mae = float((net(xv) - yv).abs().mean())
        log.append({"epoch": epoch, "loss": float(np.mean(losses)), "train_mae_mps": train_mae, "val_mae_mps": val_mae})
        if val_mae < best[0]:
            best = (val_mae, {k: v.clone() for k, v in net.state_dict().items()}, epoch)
    net.load_state_dict(best[1])
    net.eval()
    with torch.no_grad():
        pred_val = net(xv).numpy()
        train_mae = float((net(xt) - yt).abs().mean())
    per_terrain = {}
    for terrain in sorted(set(pairs.terrain[val_mask].tolist()) - {""}):
        sel = pairs.terrain[val_mask] == terrain
        per_terrain[terrain] = {"frames": int(sel.sum()), "demonstrated_mps": float(yv.numpy()[sel].mean()),
                                "predicted_mps": float(pred_val[sel].mean()),
                                "mae_mps": float(np.abs(pred_val[sel] - yv.numpy()[sel]).mean())}
    report = {
        "command": command,
        "config": dataclasses.asdict(config),
        "demo_minutes": minutes,
        "episodes": len(np.unique(pairs.episode)),
        "embedding_size": int(x.shape[1]), "inputs": list(config.inputs),
        "train_pairs": int(train_mask.sum()), "validation_pairs": int(val_mask.sum()),
        "validation_episodes": sorted(int(e) for e in np.unique(pairs.episode[val_mask])),
        "best_epoch": best[2],
        "val_mae_mps": best[0], "train_mae_mps": train_mae,
        "val_mae_predict_mean_mps": float((yv - yt.mean()).abs().mean()),
        "per_terrain_validation": per_terrain,
        "perception_sha256": pairs.perception_sha256, "ground_pose_sha256": pairs.ground_pose_sha256,
        "train_seconds": time.perf_counter() - start,
    }
    if test_pairs is not None:  # after the choice: nothing below feeds back into it
        test = evaluate_speed_policy(net, test_pairs, pairs.perception_sha256, config.inputs)
        report["test"] = {k: v for k, v in test.items() if k != "per_episode"}
    out = Path(out)
    report["sha256"] = save_speed_policy(out, net, pairs.perception_sha256,
                                         {"val_mae_mps": best[0], "demo_minutes": minutes,
                                          "inputs": list(config.inputs),
                                          "ground_pose_sha256": pairs.ground_pose_sha256
                                          if "pose" in config.inputs else "",
                                          "test_mae_mps": report["test"]["mae_mps"] if "test" in report else None})
    out.with_suffix(".train.json").write_text(json.dumps({**report, "log": log}, indent=2))
    _plot(log, yv.numpy(), pred_val, out.with_suffix(".train.png"))
    out.with_suffix(".md").write_text(model_card(report, out.name))
    return report


def evaluate_speed_policy(net: SpeedPolicyNet, pairs: DemoPairs, perception_sha256: str,
                          inputs: tuple[str, ...] = ("semantic",)) -> dict:
    """Per-frame error of a trained policy on demonstration pairs it never saw (a test set: episodes
    recorded with another seed). ``perception_sha256`` is the policy's: pairs embedded by another
    perception model are refused. MAE overall, per terrain and per episode, and the MAE of always
    predicting the test set's own mean speed (what a policy blind to the embedding would reach at best)."""
    if pairs.perception_sha256 != perception_sha256:
        raise ValueError(f"pairs: embedded with perception weights {pairs.perception_sha256[:12]}..., the policy "
                         f"was trained on {perception_sha256[:12]}...; remake them with `semloco demos`")
    if len(pairs.speed_mps) == 0:
        raise ValueError("pairs: no demonstration pairs to evaluate on")
    net.eval()
    with torch.no_grad():
        predicted = net(torch.from_numpy(pairs.features(inputs))).numpy().astype(float)
    demonstrated = pairs.speed_mps.astype(float)
    error = np.abs(predicted - demonstrated)

    def row(mask: np.ndarray) -> dict:
        return {"frames": int(mask.sum()), "demonstrated_mps": float(demonstrated[mask].mean()),
                "predicted_mps": float(predicted[mask].mean()), "mae_mps": float(error[mask].mean())}

    def rows(keys: np.ndarray) -> dict:
        return {str(k): row(keys == k) for k in sorted(set(keys.tolist()) - {""})}

    report = {}
    if pairs.pose is not None:  # frames on a slope (the inferred slope along, 3 deg or more) apart
        sloped = np.abs(pairs.pose[:, 0]) >= 3.0
        report = {"sloped": row(sloped), "level": row(~sloped)}
    return {**report, "pairs": len(error), "episodes": len(np.unique(pairs.episode)), "inputs": list(inputs),
            "demo_minutes": pairs.minutes, "mae_mps": float(error.mean()),
            "mae_predict_mean_mps": float(np.abs(demonstrated - demonstrated.mean()).mean()),
            "per_terrain": rows(pairs.terrain), "per_episode": rows(pairs.episode.astype(str)),
            "bags": list(pairs.bags)}


def _plot(log: list[dict], demonstrated: np.ndarray, predicted: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [r["epoch"] for r in log]
    a.plot(epochs, [r["train_mae_mps"] for r in log], label="train MAE")
    a.plot(epochs, [r["val_mae_mps"] for r in log], label="validation MAE")
    a.axhline(0.15, color="grey", ls="--", lw=0.8, label="target 0.15 m/s")
    a.set_xlabel("epoch")
    a.set_ylabel("m/s")
    a.legend()
    a.set_title("speed policy training")
    jitter = np.random.default_rng(0).normal(0, 0.01, len(demonstrated))
    b.scatter(demonstrated + jitter, predicted, s=3, alpha=0.3)
    b.plot([0, 1.6], [0, 1.6], color="grey", lw=0.8)
    b.set_xlabel("demonstrated speed (m/s)")
    b.set_ylabel("predicted speed (m/s)")
    b.set_title("validation episodes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


INPUT_DESCRIPTIONS = {
    "semantic": "the semantic embedding vector of the terrain perception model (`robot_perception.model."
                "embedding_vector`, frozen: 64 pooled features and the class composition of the trail just ahead)",
    "depth": "the corridor's elevation profile 0.5-3 m ahead with a seen flag per knot "
             "(`robot_perception.ground_pose.depth_summary`, 10 values)",
    "pose": "the inferred ground pose (`locomotion.speed_policy.pose_input` of the ground-pose model's output: slope "
            "along, across, slope change ahead, camera height, far ground seen; 5 values)",
}


def terrain_rows(per_terrain: dict) -> str:
    return "\n".join(f"| {t} | {r['frames']} | {r['demonstrated_mps']:.2f} | {r['predicted_mps']:.2f} | "
                     f"{r['mae_mps']:.3f} |" for t, r in per_terrain.items())


TERRAIN_HEADER = "| terrain | frames | demonstrated (m/s) | predicted (m/s) | MAE (m/s) |\n|---|---|---|---|---|"


def test_section(test: dict | None) -> str:
    if test is None:
        return ("## Test\n\nNo test demonstrations were given (`semloco train speed --test-demos`): the figure above "
                "is a selection figure only.\n")
    slopes = ""
    if "sloped" in test:
        slopes = (f" On sloped frames (inferred slope 3 deg or more, {test['sloped']['frames']} frames) "
                  f"{test['sloped']['mae_mps']:.3f}, on level ones {test['level']['mae_mps']:.3f}.")
    return f"""## Test (episodes recorded apart; they chose nothing)

{test['episodes']} episodes ({test['demo_minutes']:.1f} minutes, {test['pairs']} pairs), evaluated once after
the epoch was chosen: MAE **{test['mae_mps']:.3f} m/s** (predicting the test set's own mean would give
{test['mae_predict_mean_mps']:.3f}).{slopes}

{TERRAIN_HEADER}
{terrain_rows(test['per_terrain'])}

Bags: {', '.join(Path(b).name for b in test['bags'])}.
"""


def model_card(report: dict, name: str) -> str:
    cfg = report["config"]
    inputs = "\n".join(f"  - `{g}`: {INPUT_DESCRIPTIONS[g]}" for g in report["inputs"])
    pose = (f"\n- Pose: ground-pose weights SHA-256 `{report['ground_pose_sha256']}` (the loader refuses others)."
            if "pose" in report["inputs"] else "")
    return f"""# Speed policy `{name}`

Desired forward speed (m/s) from a {report['embedding_size']}-d input, learned by imitation of demonstrations.
Inputs (side by side in this order, `locomotion.speed_policy.policy_features`):
{inputs}

- Architecture: input normalisation (train-set mean/std, floored at {cfg['min_feature_std']}),
  MLP {report['embedding_size']}-{cfg['hidden']}-{cfg['hidden'] // 2}-1 with ReLU and dropout 0.1,
  sigmoid output scaled to [{cfg['min_speed_mps']}, {cfg['max_speed_mps']}] m/s.
- Embedding: perception weights SHA-256 `{report['perception_sha256']}` (the loader refuses others).{pose}
- Weights SHA-256: `{report['sha256']}`.
- Data: {report['demo_minutes']:.1f} minutes of demonstrations (simulated time) in {report['episodes']} episodes,
  {report['train_pairs']} training and {report['validation_pairs']} validation pairs; validation holds out whole
  episodes {report['validation_episodes']}.
- Training: Huber loss (delta 0.2 m/s) weighted so that each band of demonstrated speed (edges
  {list(cfg['speed_band_edges_mps'])} m/s) weighs the same, AdamW lr {cfg['learning_rate']}
  wd {cfg['weight_decay']}, cosine schedule, {cfg['epochs']} epochs of batch {cfg['batch_size']},
  best epoch {report['best_epoch']} by validation MAE;
  {report['train_seconds']:.0f} s on the CPU.
- Command: `{report['command']}`

## Validation (selection: these episodes chose the epoch)

Validation MAE **{report['val_mae_mps']:.3f} m/s** (train {report['train_mae_mps']:.3f}; predicting the training
mean would give {report['val_mae_predict_mean_mps']:.3f}).

{TERRAIN_HEADER}
{terrain_rows(report['per_terrain_validation'])}

{test_section(report.get('test'))}
Closed-loop results: the README's trail table (`python bench/trail_policies.py`) and the input ablation
(`python bench/policy_inputs.py`).
"""
