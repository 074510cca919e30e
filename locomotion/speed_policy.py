"""The learned speed policy: what the camera makes of the trail ahead -> desired forward speed (m/s).

The network is a small MLP on a feature vector of up to three input groups (``POLICY_INPUTS``, side
by side in that order; ``policy_features``; the checkpoint header's ``inputs`` names those it was
trained on):

- ``semantic``: the semantic embedding vector of the (frozen) terrain perception model
  (``robot_perception.model.embedding_vector``: 64 pooled features and the class composition of the
  trail just ahead);
- ``depth``: the corridor's elevation profile 0.5-3 m ahead with a seen flag per knot
  (``robot_perception.ground_pose.depth_summary``, 10 values);
- ``pose``: the inferred ground pose (``pose_input`` of ``robot_perception.ground_pose.GroundPose.fields``:
  slope along, across, slope change ahead, camera height, far ground seen; zeros where no ground in view).

It is trained by imitation on demonstration pairs (``locomotion.speed_training``). Its checkpoint
records the SHA-256 of the perception weights the embedding came from (and of the ground-pose model,
where it reads the pose); loading it next to other weights is refused, because the inputs would mean
something else.

At run time (``SpeedPolicy``) the per-frame prediction is low-passed like a hand on a stick,
slows down at once but speeds up only after the robot has walked ``speed_up_hold_m`` past what
made it slow (the camera sees ~0.5-2 m ahead of the trunk, so the hind legs are still in deep
grass when the camera already sees gravel: the command is the slowest prediction of the last
``speed_up_hold_m / current speed`` seconds), is capped by the depth node's obstacle distance
(``obstacle_speed_cap``), is held to the slow gait's speed while the corridor is unknown (no valid
reading for ``unknown_after_s``: NaN readings, a depth node that stopped publishing, or none yet), and
is zeroed when the embeddings stop arriving.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from locomotion.config import config_dir, load_dataclass
from semantic_locomotion.checkpoint_file import read_checkpoint, write_checkpoint

FORMAT = "semantic_locomotion.speed_policy.v1"
POLICY_INPUTS = ("semantic", "depth", "pose")  # the input groups, in the order they are concatenated


def policy_inputs(header: dict) -> tuple[str, ...]:
    """The input groups a checkpoint was trained on (checkpoints before the groups: semantic only)."""
    return tuple(header.get("inputs", ("semantic",)))


def pose_input(fields: np.ndarray) -> np.ndarray:
    """The policy's pose input from a ground pose's fields (slope along, across, change, camera height,
    far seen; ``robot_perception.ground_pose.POSE_VECTOR_FIELDS``, as the pose node publishes them):
    no pose (NaN slope or height) reads all zeros; an unseen far window reads change 0 and far seen 0.
    Rows of fields give rows of inputs."""
    x = np.array(fields, dtype=np.float32)
    known = np.all(np.isfinite(x[..., [0, 1, 3]]), axis=-1, keepdims=True)
    far_seen = np.isfinite(x[..., 2:3]) & (np.nan_to_num(x[..., 4:5]) > 0.5)
    x[..., 2:3] = np.where(far_seen, x[..., 2:3], 0.0)
    x[..., 4:5] = far_seen
    return np.where(known, x, 0.0).astype(np.float32)


def policy_features(inputs: tuple[str, ...], semantic: np.ndarray, depth: np.ndarray | None = None,
                    pose: np.ndarray | None = None) -> np.ndarray:
    """The policy's input: the named groups (``inputs``, some of POLICY_INPUTS) side by side in
    POLICY_INPUTS order, float32; one frame ((D,) arrays) or many ((N, D) rows)."""
    groups = {"semantic": semantic, "depth": depth, "pose": pose}
    unknown = sorted(set(inputs) - set(POLICY_INPUTS))
    if unknown or not inputs:
        raise SpeedPolicyError(f"inputs: expected some of {', '.join(POLICY_INPUTS)}, got "
                               f"{', '.join(inputs) or 'none'}")
    missing = [name for name in inputs if groups[name] is None]
    if missing:
        raise SpeedPolicyError(f"inputs: no {', '.join(missing)} input given")
    return np.concatenate([np.asarray(groups[name], dtype=np.float32) for name in POLICY_INPUTS if name in inputs],
                          axis=-1)


class SpeedPolicyError(ValueError):
    """A speed-policy checkpoint or input the policy cannot use."""


class SpeedPolicyNet(nn.Module):
    """Normalise the embedding, two hidden layers, a sigmoid scaled to [min_speed, max_speed]."""

    def __init__(self, embed_dim: int = 64, hidden: int = 64, min_speed_mps: float = 0.0, max_speed_mps: float = 1.6):
        super().__init__()
        self.embed_dim, self.hidden = embed_dim, hidden
        self.register_buffer("mean", torch.zeros(embed_dim))
        self.register_buffer("std", torch.ones(embed_dim))
        self.register_buffer("speed_range", torch.tensor([min_speed_mps, max_speed_mps]))
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(hidden, hidden // 2), nn.ReLU(),
            nn.Linear(hidden // 2, 1),
        )

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        x = (embedding - self.mean) / self.std
        low, high = self.speed_range[0], self.speed_range[1]
        return low + (high - low) * torch.sigmoid(self.mlp(x).squeeze(-1))


def save_speed_policy(path: str | Path, net: SpeedPolicyNet, perception_sha256: str, extra: dict | None = None) -> str:
    header = {"format": FORMAT, "embed_dim": net.embed_dim, "hidden": net.hidden,
              "perception_sha256": perception_sha256, **(extra or {})}
    return write_checkpoint(path, net, header)


def load_speed_policy(path: str | Path, perception_sha256: str | None = None,
                      ground_pose_sha256: str | None = None) -> tuple[SpeedPolicyNet, dict]:
    """The network and header of a checkpoint; ``perception_sha256`` (if given) must match the
    perception weights the policy was trained on, and ``ground_pose_sha256`` (if given, for a policy
    that reads the pose) the ground-pose model's."""
    header, state = read_checkpoint(path, FORMAT, SpeedPolicyError, "speed policy", "speed-policy",
                                    hint=" (train one with `semloco train speed`)")
    unknown = sorted(set(policy_inputs(header)) - set(POLICY_INPUTS))
    if unknown:
        raise SpeedPolicyError(f"speed policy: {path} reads inputs {', '.join(unknown)} this code does not make")
    if perception_sha256 is not None and header["perception_sha256"] != perception_sha256:
        raise SpeedPolicyError(
            f"speed policy: {path} was trained on the embedding of perception weights "
            f"{header['perception_sha256'][:12]}..., but the perception model loaded is {perception_sha256[:12]}...; "
            "retrain it with `semloco demos` + `semloco train speed`")
    trained_pose = header.get("ground_pose_sha256", "")
    if "pose" in policy_inputs(header) and ground_pose_sha256 is not None and trained_pose != ground_pose_sha256:
        raise SpeedPolicyError(
            f"speed policy: {path} was trained on the pose of ground-pose weights {trained_pose[:12] or 'unknown'}..., "
            f"but the ground-pose model loaded is {ground_pose_sha256[:12]}...; retrain it with `semloco demos "
            "--ground-pose-model` + `semloco train speed`")
    net = SpeedPolicyNet(header["embed_dim"], header["hidden"])
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise SpeedPolicyError(f"speed policy: {path} weights do not fit its header's architecture: {exc}") from exc
    net.eval()
    return net, header


@dataclasses.dataclass(frozen=True)
class ObstacleCapConfig:
    stop_distance_m: float = 1.5
    brake_decel_mps2: float = 0.5
    confirm_frames: int = 2
    remember_within_m: float = 2.5
    remember_confirm_frames: int = 3
    forget_after_clear_frames: int = 4
    resume_margin_m: float = 0.5
    unknown_after_s: float = 0.5
    unknown_speed_cap_mps: float = 0.5

    def __post_init__(self) -> None:
        if not self.unknown_after_s > 0:
            raise ValueError(f"unknown_after_s: must be positive, got {self.unknown_after_s}")
        if not self.unknown_speed_cap_mps >= 0:
            raise ValueError(f"unknown_speed_cap_mps: must be >= 0, got {self.unknown_speed_cap_mps}")
        if not self.resume_margin_m >= 0:
            raise ValueError(f"resume_margin_m: must be >= 0, got {self.resume_margin_m}")


@dataclasses.dataclass(frozen=True)
class SpeedPolicyConfig:
    decision_rate_hz: float = 5.0
    smoothing_time_constant_s: float = 0.3
    stale_after_s: float = 1.0
    min_speed_mps: float = 0.0
    max_speed_mps: float = 1.6
    speed_up_hold_m: float = 1.2
    obstacle: ObstacleCapConfig = ObstacleCapConfig()

    def __post_init__(self) -> None:
        if self.decision_rate_hz <= 0:
            raise ValueError(f"decision_rate_hz: must be positive, got {self.decision_rate_hz}")
        if self.smoothing_time_constant_s < 0 or self.stale_after_s <= 0:
            raise ValueError("smoothing_time_constant_s must be >= 0 and stale_after_s > 0")
        if not 0 <= self.min_speed_mps < self.max_speed_mps:
            raise ValueError(f"min_speed_mps/max_speed_mps: need 0 <= min < max, got {self.min_speed_mps}, "
                             f"{self.max_speed_mps}")


def load_speed_policy_config(path: str | Path | None = None) -> SpeedPolicyConfig:
    return load_dataclass(SpeedPolicyConfig, path or config_dir() / "speed_policy.yaml")


def obstacle_speed_cap(distance_m: float | None, config: ObstacleCapConfig) -> float:
    """Largest forward speed that can still stop ``stop_distance_m`` short of an obstacle at
    ``distance_m`` (None, inf or NaN: no obstacle to brake for; an unknown corridor is
    ``SpeedPolicy``'s to handle, by time: ``unknown_after_s``)."""
    if distance_m is None or not math.isfinite(distance_m):
        return math.inf
    margin = distance_m - config.stop_distance_m
    return 0.0 if margin <= 0 else math.sqrt(2.0 * config.brake_decel_mps2 * margin)


class SpeedPolicy:
    """Run-time speed policy: input features and obstacle readings in, a smoothed speed out."""

    def __init__(self, net: SpeedPolicyNet, config: SpeedPolicyConfig, inputs: tuple[str, ...] = ("semantic",)):
        self.net = net
        self.config = config
        self.inputs = tuple(inputs)
        self.reset()

    def reset(self) -> None:
        self.smoothed: float | None = None
        self.last_time: float | None = None
        self.raw = 0.0
        self.cap = math.inf
        self._obstacle_frames = 0
        self._clear_frames = 0
        self._recent: list[tuple[float, float]] = []  # (time, smoothed prediction)
        self._last_command = 0.0
        self._last_command_time: float | None = None
        self._remembered_m: float | None = None  # a close obstacle, dead-reckoned with the command
        self._valid_reading_time: float | None = None  # of the last clear or obstacle reading
        self._stopped_for_obstacle = False  # the last command was 0 for an obstacle

    def predict(self, features: np.ndarray) -> float:
        """The network's speed for one frame's feature vector (``policy_features``; no smoothing)."""
        x = np.asarray(features, dtype=np.float32)
        if x.shape != (self.net.embed_dim,):
            raise SpeedPolicyError(f"features ({' + '.join(self.inputs)}): expected shape "
                                   f"({self.net.embed_dim},), got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise SpeedPolicyError("features: contain NaN or inf")
        with torch.no_grad():
            return float(self.net(torch.from_numpy(x)[None])[0])

    def observe_features(self, features: np.ndarray, t: float, complete: bool = True) -> float:
        """Update with a new frame's feature vector at time ``t``; returns the new speed command.
        ``complete`` False: some input group had no fresh reading (zeros stand in for it), and that
        frame's prediction is held to the slow gait's speed (``obstacle.unknown_speed_cap_mps``)."""
        self.raw = self.predict(features)
        if not complete:
            self.raw = min(self.raw, self.config.obstacle.unknown_speed_cap_mps)
        tau = self.config.smoothing_time_constant_s
        if self.smoothed is None or tau == 0:
            self.smoothed = self.raw
        else:
            dt = max(t - self.last_time, 0.0)
            self.smoothed += (1.0 - math.exp(-dt / tau)) * (self.raw - self.smoothed)
        self.last_time = t
        self._recent.append((t, self.smoothed))
        window = self.config.speed_up_hold_m / max(self._last_command, 0.25)
        self._recent = [(ti, v) for ti, v in self._recent if ti >= t - window]
        return self.command(t)

    def observe_obstacle(self, distance_m: float | None, t: float) -> None:
        """A corridor reading from the depth check at time ``t`` (metres to the obstacle; inf clear;
        NaN or None unknown). A reading counts once ``confirm_frames`` in a row saw an obstacle; a
        clear one lifts the reading's cap; an unknown one lifts nothing, and after ``unknown_after_s``
        without a valid reading the speed is capped to ``unknown_speed_cap_mps`` (``unknown_cap``).
        A confirmed obstacle closer than ``remember_within_m`` is remembered and dead-reckoned with
        the commanded speed: up close a boulder fills the view, no ground is left to measure from,
        and the readings turn unknown or clear exactly when they matter most. Once the command is 0
        for an obstacle, a reading must be ``resume_margin_m`` beyond the stop distance to lift it."""
        cfg = self.config.obstacle
        valid = distance_m is not None and not math.isnan(distance_m)
        seen = valid and math.isfinite(distance_m)
        clear = valid and distance_m == math.inf
        if valid:
            self._valid_reading_time = t if self._valid_reading_time is None else max(self._valid_reading_time, t)
        self._obstacle_frames = self._obstacle_frames + 1 if seen else 0
        self._clear_frames = self._clear_frames + 1 if clear else 0
        if seen and self._obstacle_frames >= cfg.confirm_frames:
            # hysteresis: once stopped, a reading a little beyond the stop distance (the robot
            # rocking while it steps in place, the depth's noise) does not start it creeping again
            resume = not self._stopped_for_obstacle or distance_m > cfg.stop_distance_m + cfg.resume_margin_m
            self.cap = obstacle_speed_cap(distance_m, cfg) if resume else 0.0
            if distance_m < cfg.remember_within_m and self._obstacle_frames >= cfg.remember_confirm_frames:
                self._remembered_m = distance_m
        elif clear:
            self.cap = math.inf
        # a remembered obstacle that the view keeps calling clear (ground seen, nothing on it) was a
        # false alarm, unless the robot has already stopped in front of it
        if (self._remembered_m is not None and self._clear_frames >= cfg.forget_after_clear_frames
                and self._remembered_m > cfg.stop_distance_m):
            self._remembered_m = None

    def unknown_cap(self, t: float) -> float:
        """The cap while the corridor is unknown at ``t``: ``unknown_speed_cap_mps`` before the first
        valid reading and once the last is more than ``unknown_after_s`` old, else inf."""
        cfg = self.config.obstacle
        if self._valid_reading_time is None or t - self._valid_reading_time > cfg.unknown_after_s:
            return cfg.unknown_speed_cap_mps
        return math.inf

    @property
    def obstacle_cap(self) -> float:
        """The speed cap from obstacles: the latest valid reading's, or the remembered close one's
        (``unknown_cap`` is the other limit on the speed)."""
        remembered = (math.inf if self._remembered_m is None
                      else obstacle_speed_cap(self._remembered_m, self.config.obstacle))
        return min(self.cap, remembered)

    def command(self, t: float) -> float:
        """The forward speed to command at ``t`` (0 before the first frame or once stale)."""
        if self._remembered_m is not None and self._last_command_time is not None:
            self._remembered_m -= self._last_command * max(t - self._last_command_time, 0.0)
            if self._remembered_m < -1.0:  # walked past it (it was not in the way after all)
                self._remembered_m = None
        self._last_command_time = t
        if self.smoothed is None or t - self.last_time > self.config.stale_after_s:
            self._last_command = 0.0
            return 0.0
        held = min(v for _, v in self._recent) if self._recent else self.smoothed
        speed = float(np.clip(held, self.config.min_speed_mps, self.config.max_speed_mps))
        self._last_command = min(speed, self.obstacle_cap, self.unknown_cap(t))
        self._stopped_for_obstacle = self.obstacle_cap <= 0.0
        return self._last_command
