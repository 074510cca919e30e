"""Gait selector: the desired forward speed decides the gait (the seed's heuristic).

Speed -> (stepping frequency, duty factor, phase offsets, swing height, base height) by linear
interpolation between anchor gaits at increasing speeds (``config/gait_selector.yaml``), held
constant outside the anchors. Linear interpolation between anchors ordered as the loader checks
makes every parameter a monotone, Lipschitz-continuous function of speed; while walking, the gait
scheduler then blends towards each new target at bounded rates, so the gait never jumps.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from locomotion.config import ConfigError, config_dir, from_dict, load_yaml
from locomotion.gait import GaitParameters, load_gait_presets


@dataclasses.dataclass(frozen=True)
class GaitAnchor:
    speed_mps: float
    gait: str


@dataclasses.dataclass(frozen=True)
class GaitSelectorConfig:
    anchors: tuple[GaitAnchor, ...]


class GaitSelector:
    def __init__(self, anchors: list[tuple[float, GaitParameters]]):
        if len(anchors) < 1:
            raise ConfigError("anchors: need at least one anchor gait")
        speeds = np.array([s for s, _ in anchors], dtype=float)
        if np.any(np.diff(speeds) <= 0):
            raise ConfigError(f"anchors: speed_mps must increase strictly, got {speeds.tolist()}")
        gaits = [g for _, g in anchors]
        if any(g.phase_offsets != gaits[0].phase_offsets for g in gaits):
            raise ConfigError("anchors: all anchor gaits must share one phase_offsets pattern "
                              "(interpolating between patterns would pass through meaningless ones)")
        table = np.array([g.as_array() for g in gaits])
        checks = {"stepping_frequency_hz": (0, +1), "duty_factor": (1, -1), "swing_height_m": (6, -1),
                  "base_height_m": (7, -1)}
        for name, (column, sign) in checks.items():
            if np.any(sign * np.diff(table[:, column]) < 0):
                order = "non-decreasing" if sign > 0 else "non-increasing"
                raise ConfigError(f"anchors: {name} must be {order} with speed, got {table[:, column].tolist()}")
        self.speeds = speeds
        self.table = table

    def select(self, speed_mps: float) -> GaitParameters:
        """The gait for a desired forward speed (m/s); non-finite speeds are an error."""
        if not np.isfinite(speed_mps):
            raise ValueError(f"speed_mps: must be finite, got {speed_mps}")
        values = [np.interp(abs(speed_mps), self.speeds, self.table[:, i]) for i in range(self.table.shape[1])]
        return GaitParameters.from_array(np.array(values))


def load_gait_selector(path: str | Path | None = None, gaits_path: str | Path | None = None) -> GaitSelector:
    path = Path(path) if path else config_dir() / "gait_selector.yaml"
    try:
        config = from_dict(GaitSelectorConfig, load_yaml(path))
        presets = load_gait_presets(gaits_path)
        anchors = []
        for i, anchor in enumerate(config.anchors):
            if anchor.gait not in presets:
                known = ", ".join(sorted(presets))
                raise ConfigError(f"anchors[{i}].gait: unknown gait {anchor.gait!r} (known: {known})")
            anchors.append((anchor.speed_mps, presets[anchor.gait]))
        return GaitSelector(anchors)
    except ConfigError as exc:
        raise ConfigError(f"{path.name}: {exc}") from exc
