"""Training and scoring the ground-pose encoder (``robot_perception.ground_pose``) on frame arrays.

``PoseFrames`` holds frames as the encoder sees them (made by ``semantic_locomotion.ground_pose_data``
from `semloco dataset` folders, through the shipped perception) and, for scoring and for the
supervised variant only, the simulator's true planes. ``train_ground_pose`` trains one variant:

- ``self``: the rendering loss against the depth head's own depth (no labels); the epoch is chosen
  by the same loss on the validation frames, so no label is used at all;
- ``supervised``: the L1 loss to the true planes (the least-squares planes of the simulator's rendered
  depth and labels of the same frame); the epoch is chosen by it on the validation frames.

``score_poses`` compares poses with the truth: mean absolute errors of slope along / across, slope
change (where the far window is seen) and camera height.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import numpy as np
import torch

from robot_perception.ground_pose import (
    MIN_WINDOW_POINTS, GroundPose, GroundPoseNet, label_loss, rendering_loss)

MODES = ("self", "supervised")
BENT_DEG = 2.0  # frames whose true slope change is at least this are scored apart (most have none)


@dataclasses.dataclass
class PoseFrames:
    channels: np.ndarray  # (N, 4, h, w)
    rays: np.ndarray  # (N, 3, h, w)
    log_depth: np.ndarray  # (N, h, w)
    near: np.ndarray  # (N, h, w) bool
    far: np.ndarray  # (N, h, w) bool
    planes: np.ndarray  # (N, 6) true planes (scoring and the supervised variant only; 0 where not seen)
    planes_seen: np.ndarray  # (N, 2) bool: the true near / far window was in view

    def __len__(self) -> int:
        return len(self.channels)

    @functools.cached_property
    def far_seen(self) -> np.ndarray:
        return self.far.sum(axis=(1, 2)) >= MIN_WINDOW_POINTS

    @functools.cached_property
    def near_seen(self) -> np.ndarray:
        return self.near.sum(axis=(1, 2)) >= MIN_WINDOW_POINTS

    @functools.cached_property
    def far_labelled(self) -> np.ndarray:
        """Frames whose far window both the input and the truth saw (the label loss scores only those)."""
        return self.far_seen & self.planes_seen[:, 1]

    def subset(self, keep: np.ndarray) -> PoseFrames:
        return PoseFrames(*(getattr(self, f.name)[keep] for f in dataclasses.fields(self)))


@dataclasses.dataclass(frozen=True)
class PoseTrainingConfig:
    mode: str = "self"
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size: must be at least 1")


def _tensors(frames: PoseFrames, index: np.ndarray) -> dict[str, torch.Tensor]:
    return {"channels": torch.from_numpy(frames.channels[index]), "rays": torch.from_numpy(frames.rays[index]),
            "log_depth": torch.from_numpy(frames.log_depth[index]),
            "near": torch.from_numpy(frames.near[index].astype(np.float32)),
            "far": torch.from_numpy(frames.far[index].astype(np.float32)),
            "planes": torch.from_numpy(frames.planes[index].astype(np.float32)),
            "far_seen": torch.from_numpy(frames.far_labelled[index].astype(np.float32))}


def batch_loss(net: GroundPoseNet, batch: dict[str, torch.Tensor], mode: str) -> torch.Tensor:
    planes = net(batch["channels"])
    if mode == "self":
        return rendering_loss(planes, batch["rays"], batch["log_depth"], batch["near"], batch["far"])
    return label_loss(planes, batch["planes"], batch["far_seen"])


def evaluate_loss(net: GroundPoseNet, frames: PoseFrames, mode: str, batch_size: int = 64) -> float:
    net.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(frames), batch_size):
            index = np.arange(start, min(start + batch_size, len(frames)))
            total += float(batch_loss(net, _tensors(frames, index), mode)) * len(index)
            n += len(index)
    return total / max(n, 1)


def train_ground_pose(train: PoseFrames, validation: PoseFrames, config: PoseTrainingConfig,
                      progress=None) -> tuple[GroundPoseNet, dict]:
    """The network of the epoch with the lowest validation loss (the training mode's own loss), and a
    log of every epoch."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    net = GroundPoseNet(config.width)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.epochs)
    train = train.subset(train.near_seen & train.planes_seen[:, 0])
    validation = validation.subset(validation.near_seen & validation.planes_seen[:, 0])
    best, best_state, log = math.inf, None, []
    started = time.perf_counter()
    for epoch in range(config.epochs):
        net.train()
        order = rng.permutation(len(train))
        losses = []
        for start in range(0, len(order), config.batch_size):
            loss = batch_loss(net, _tensors(train, order[start:start + config.batch_size]), config.mode)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        schedule.step()
        val = evaluate_loss(net, validation, config.mode)
        log.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "validation_loss": val})
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in net.state_dict().items()}
        if progress is not None:
            progress(1)
    net.load_state_dict(best_state)
    net.eval()
    best_epoch = min(log, key=lambda row: row["validation_loss"])["epoch"]
    return net, {"config": dataclasses.asdict(config), "log": log, "best_epoch": best_epoch,
                 "best_validation_loss": best, "train_frames": len(train),
                 "train_s": round(time.perf_counter() - started, 1)}


def predict_planes(net: GroundPoseNet, frames: PoseFrames, batch_size: int = 64) -> np.ndarray:
    out = []
    with torch.no_grad():
        for start in range(0, len(frames), batch_size):
            out.append(net(torch.from_numpy(frames.channels[start:start + batch_size])).numpy())
    return np.concatenate(out).astype(float)


def poses_of_planes(planes: np.ndarray, seen: np.ndarray) -> list[GroundPose | None]:
    """Poses of (N, 6) planes; ``seen`` (N, 2) says which windows were in view (no near window: None)."""
    return [GroundPose.from_planes(tuple(p[:3]), tuple(p[3:]) if far else None) if near else None
            for p, (near, far) in zip(planes, seen)]


def score_poses(predicted: list[GroundPose | None], truth: list[GroundPose | None]) -> dict:
    """Mean absolute errors over the frames with a prediction and a truth (slope change: where both
    saw the far window, and apart where the truth bends by BENT_DEG or more), and how many."""
    pairs = [(p, t) for p, t in zip(predicted, truth) if p is not None and t is not None]

    def mae(field: str, rows) -> float | None:
        errors = [abs(getattr(p, field) - getattr(t, field)) for p, t in rows]
        return round(float(np.mean(errors)), 4) if errors else None

    far = [(p, t) for p, t in pairs if p.far_seen and t.far_seen]
    bent = [(p, t) for p, t in far if abs(t.slope_change_deg) >= BENT_DEG]
    return {"frames": len(truth), "scored": len(pairs), "far_scored": len(far),
            "slope_along_mae_deg": mae("slope_along_deg", pairs),
            "slope_across_mae_deg": mae("slope_across_deg", pairs),
            "slope_change_mae_deg": mae("slope_change_deg", far),
            "bent_scored": len(bent), "slope_change_mae_deg_where_bent": mae("slope_change_deg", bent),
            "camera_height_mae_m": mae("camera_height_m", pairs)}
