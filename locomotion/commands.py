"""Velocity commands: the documented limits, clipping with a warning, and acceleration limits."""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class VelocityCommand:
    """Planar twist in the yaw-aligned body frame (REP-103: x forward, y left, yaw counter-clockwise)."""

    forward_mps: float = 0.0
    lateral_mps: float = 0.0
    yaw_rate_radps: float = 0.0

    def as_array(self) -> np.ndarray:
        return np.array([self.forward_mps, self.lateral_mps, self.yaw_rate_radps])

    def is_finite(self) -> bool:
        return all(math.isfinite(v) for v in (self.forward_mps, self.lateral_mps, self.yaw_rate_radps))


@dataclasses.dataclass(frozen=True)
class CommandLimits:
    max_forward_mps: float = 2.5
    max_backward_mps: float = 1.0
    max_lateral_mps: float = 0.6
    max_yaw_rate_radps: float = 1.5
    max_linear_accel_mps2: float = 1.0
    max_yaw_accel_radps2: float = 3.0


class CommandFilter:
    """Clips commands to the limits (warning once per excursion) and ramps towards them."""

    def __init__(self, limits: CommandLimits):
        self.limits = limits
        self.target = np.zeros(3)
        self.current = np.zeros(3)
        self._warned: set[str] = set()

    def reset(self) -> None:
        self.target = np.zeros(3)
        self.current = np.zeros(3)

    def clip(self, command: VelocityCommand) -> VelocityCommand:
        lim = self.limits
        forward = self._clip_field("forward_mps", command.forward_mps, -lim.max_backward_mps, lim.max_forward_mps)
        lateral = self._clip_field("lateral_mps", command.lateral_mps, -lim.max_lateral_mps, lim.max_lateral_mps)
        yaw_rate = self._clip_field("yaw_rate_radps", command.yaw_rate_radps, -lim.max_yaw_rate_radps,
                                    lim.max_yaw_rate_radps)
        return VelocityCommand(forward, lateral, yaw_rate)

    def _clip_field(self, field: str, value: float, low: float, high: float) -> float:
        """``value`` clipped to [low, high]; warns once per excursion of ``field`` outside it."""
        if not math.isfinite(value):
            raise ValueError(f"{field}: command must be finite, got {value}")
        clipped = min(max(float(value), low), high)
        if clipped != value:
            if field not in self._warned:
                log.warning("command %s=%.3f outside [%.2f, %.2f]; clipped to %.3f", field, value, low, high, clipped)
                self._warned.add(field)
        elif self._warned:
            self._warned.discard(field)
        return clipped

    def set(self, command: VelocityCommand) -> VelocityCommand:
        clipped = self.clip(command)
        self.target = clipped.as_array()
        return clipped

    def update(self, dt: float) -> VelocityCommand:
        lim = self.limits
        if self.current.tolist() != self.target.tolist():
            step = np.array([lim.max_linear_accel_mps2, lim.max_linear_accel_mps2, lim.max_yaw_accel_radps2]) * dt
            self.current = self.current + np.minimum(np.maximum(self.target - self.current, -step), step)
        forward, lateral, yaw_rate = self.current.tolist()
        return VelocityCommand(forward, lateral, yaw_rate)
