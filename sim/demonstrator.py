"""The scripted demonstrator: how a careful person picks the walking speed on a trail.

It reads the trail's ground-truth terrain map (which a person sees with their own eyes), looks
``lookahead_m`` ahead of the trunk, and wants the slowest preferred speed of every terrain between
``lookbehind_m`` behind and that far ahead: it slows before deep grass arrives and speeds up only
once the hind legs are out. The stick follows that wish after a reaction delay, with a slow random
wobble. ``preferred_speed`` alone (no delay, no wobble) is the ``oracle`` policy of `semloco trail`.
Steering is the separate operator model in ``sim.trail_walk.lane_keeping_yaw_rate``.
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import numpy as np

from locomotion.config import config_dir, load_dataclass
from sim.terrain import WALKABLE_CLASSES
from sim.trail import Trail


@dataclasses.dataclass(frozen=True)
class DemonstratorConfig:
    preferred_speed_mps: dict[str, float]
    lookahead_m: float = 1.5
    lookbehind_m: float = 0.3
    reaction_delay_s: float = 0.4
    noise_std_mps: float = 0.04
    noise_time_constant_s: float = 1.5

    def __post_init__(self) -> None:
        missing = [t for t in WALKABLE_CLASSES if t not in self.preferred_speed_mps]
        if missing:
            raise ValueError(f"preferred_speed_mps: missing terrain(s) {', '.join(missing)}")
        for terrain, speed in self.preferred_speed_mps.items():
            if terrain not in WALKABLE_CLASSES:
                raise ValueError(f"preferred_speed_mps.{terrain}: not a walkable terrain")
            if not 0.0 < speed <= 2.0:
                raise ValueError(f"preferred_speed_mps.{terrain}: must be in (0, 2] m/s, got {speed}")
        for name in ("lookahead_m", "lookbehind_m", "reaction_delay_s", "noise_std_mps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be non-negative, got {getattr(self, name)}")
        if self.noise_time_constant_s <= 0:
            raise ValueError(f"noise_time_constant_s: must be positive, got {self.noise_time_constant_s}")


def load_demonstrator_config(path: str | Path | None = None) -> DemonstratorConfig:
    return load_dataclass(DemonstratorConfig, path or config_dir() / "demonstrator.yaml")


def preferred_speed(trail: Trail, config: DemonstratorConfig, distance_m: float, probe_m: float = 0.1) -> float:
    """The careful person's wish at ``distance_m`` along the trail: the slowest preference over
    the terrain from ``lookbehind_m`` behind to ``lookahead_m`` ahead (ground truth)."""
    probes = np.arange(distance_m - config.lookbehind_m, distance_m + config.lookahead_m + 1e-9, probe_m)
    return float(min(config.preferred_speed_mps[trail.terrain_at(float(x))] for x in probes))


class ScriptedDemonstrator:
    """Forward-speed commands like a person's: delayed and wobbly, around ``preferred_speed``."""

    def __init__(self, trail: Trail, config: DemonstratorConfig, seed: int = 0):
        self.trail = trail
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.wishes: collections.deque[tuple[float, float]] = collections.deque()
        self.wobble = 0.0
        self.last_t: float | None = None

    def command(self, t: float, distance_m: float) -> float:
        """The forward speed (m/s) on the stick at time ``t`` with the trunk at ``distance_m``."""
        cfg = self.config
        wish = preferred_speed(self.trail, cfg, distance_m)
        self.wishes.append((t, wish))
        while len(self.wishes) > 1 and self.wishes[1][0] <= t - cfg.reaction_delay_s:
            self.wishes.popleft()
        acted_on = self.wishes[0][1]
        dt = 0.0 if self.last_t is None else max(t - self.last_t, 0.0)
        self.last_t = t
        if cfg.noise_std_mps > 0 and dt > 0:
            a = np.exp(-dt / cfg.noise_time_constant_s)
            self.wobble = a * self.wobble + np.sqrt(1 - a * a) * cfg.noise_std_mps * self.rng.standard_normal()
        return float(max(acted_on + self.wobble, 0.0))
