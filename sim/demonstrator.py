"""The scripted demonstrator: how a careful person picks the walking speed on a trail.

It reads the trail's ground-truth terrain map (which a person sees with their own eyes), looks
``lookahead_m`` ahead of the trunk, and wants the slowest preferred speed of every terrain between
``lookbehind_m`` behind and that far ahead: it slows before deep grass arrives and speeds up only
once the hind legs are out. On hills it also reads the trail's slopes between
``lookbehind_slope_m`` behind and ``lookahead_slope_m`` ahead, and caps its wish for steep descents
and climbs (``descent_caps``, ``climb_caps``) and for crests and dips, the changes of slope between
neighbouring segments (``slope_change_caps``). The stick follows that wish after a reaction delay,
with a slow random wobble. ``preferred_speed`` alone (no delay, no wobble) is the ``oracle`` policy of `semloco trail`.
Steering is the separate operator model in ``sim.trail_walk.lane_keeping_yaw_rate``.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from pathlib import Path

import numpy as np

from locomotion.config import config_dir, load_dataclass
from sim.terrain import WALKABLE_CLASSES
from sim.trail import Trail


@dataclasses.dataclass(frozen=True)
class SlopeCap:
    """Walk at most ``speed_mps`` where a segment descends (or climbs) steeper than ``steeper_than_deg``."""

    steeper_than_deg: float
    speed_mps: float


@dataclasses.dataclass(frozen=True)
class SlopeChangeCap:
    """Walk at most ``speed_mps`` across a crest or dip whose change of slope is ``at_least_deg`` or more."""

    at_least_deg: float
    speed_mps: float


@dataclasses.dataclass(frozen=True)
class DemonstratorConfig:
    preferred_speed_mps: dict[str, float]
    lookahead_m: float = 1.5
    lookbehind_m: float = 0.3
    reaction_delay_s: float = 0.4
    noise_std_mps: float = 0.04
    noise_time_constant_s: float = 1.5
    lookahead_slope_m: float = 2.0
    lookbehind_slope_m: float = 0.5
    descent_caps: tuple[SlopeCap, ...] = ()
    climb_caps: tuple[SlopeCap, ...] = ()
    slope_change_caps: tuple[SlopeChangeCap, ...] = ()

    def __post_init__(self) -> None:
        missing = [t for t in WALKABLE_CLASSES if t not in self.preferred_speed_mps]
        if missing:
            raise ValueError(f"preferred_speed_mps: missing terrain(s) {', '.join(missing)}")
        for terrain, speed in self.preferred_speed_mps.items():
            if terrain not in WALKABLE_CLASSES:
                raise ValueError(f"preferred_speed_mps.{terrain}: not a walkable terrain")
            if not 0.0 < speed <= 2.0:
                raise ValueError(f"preferred_speed_mps.{terrain}: must be in (0, 2] m/s, got {speed}")
        for name in ("lookahead_m", "lookbehind_m", "reaction_delay_s", "noise_std_mps", "lookahead_slope_m",
                     "lookbehind_slope_m"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be non-negative, got {getattr(self, name)}")
        if self.noise_time_constant_s <= 0:
            raise ValueError(f"noise_time_constant_s: must be positive, got {self.noise_time_constant_s}")
        for name, kind, threshold in (("descent_caps", SlopeCap, "steeper_than_deg"),
                                      ("climb_caps", SlopeCap, "steeper_than_deg"),
                                      ("slope_change_caps", SlopeChangeCap, "at_least_deg")):
            for i, cap in enumerate(getattr(self, name)):
                if not isinstance(cap, kind):
                    raise ValueError(f"{name}[{i}]: expected a {kind.__name__}, got {cap!r}")
                if not 0.0 <= getattr(cap, threshold) <= 30.0:
                    raise ValueError(f"{name}[{i}].{threshold}: must be in [0, 30] deg, got {getattr(cap, threshold)}")
                if not 0.0 < cap.speed_mps <= 2.0:
                    raise ValueError(f"{name}[{i}].speed_mps: must be in (0, 2] m/s, got {cap.speed_mps}")


def load_demonstrator_config(path: str | Path | None = None) -> DemonstratorConfig:
    return load_dataclass(DemonstratorConfig, path or config_dir() / "demonstrator.yaml")


def slope_changes(trail: Trail) -> list[tuple[float, float]]:
    """Every crest (negative) and dip (positive) of ``trail``: (distance along the trail, change of
    slope in degrees) at each boundary between segments of different slope. The ground before the
    start and past the end continues the first and last segments' slopes (sim.trail_world), so the
    ends are no change."""
    starts = trail.segment_starts_m
    return [(float(starts[i]), trail.segments[i].slope_deg - trail.segments[i - 1].slope_deg)
            for i in range(1, len(trail.segments))
            if trail.segments[i].slope_deg != trail.segments[i - 1].slope_deg]


def slope_cap(trail: Trail, config: DemonstratorConfig, distance_m: float) -> float:
    """The fastest the careful person walks at ``distance_m`` for the hills alone (inf: no cap):
    the slowest cap of every segment that overlaps ``lookbehind_slope_m`` behind to
    ``lookahead_slope_m`` ahead and descends or climbs steeper than a cap's threshold, and of every
    change of slope in that window at least as large as a cap's threshold."""
    lo, hi = distance_m - config.lookbehind_slope_m, distance_m + config.lookahead_slope_m
    cap = math.inf
    n = len(trail.segments)
    for i, (start, segment) in enumerate(zip(trail.segment_starts_m, trail.segments)):
        # the first and last segments extend beyond the trail's ends (sim.trail_world)
        if (i == n - 1 or start + segment.length_m > lo) and (i == 0 or start < hi):
            caps = config.descent_caps if segment.slope_deg < 0 else config.climb_caps
            for rule in caps:
                if abs(segment.slope_deg) > rule.steeper_than_deg:
                    cap = min(cap, rule.speed_mps)
    for at_m, change_deg in slope_changes(trail):
        if lo <= at_m <= hi:
            for rule in config.slope_change_caps:
                if abs(change_deg) >= rule.at_least_deg:
                    cap = min(cap, rule.speed_mps)
    return cap


def preferred_speed(trail: Trail, config: DemonstratorConfig, distance_m: float, probe_m: float = 0.1) -> float:
    """The careful person's wish at ``distance_m`` along the trail: the slowest preference over
    the terrain from ``lookbehind_m`` behind to ``lookahead_m`` ahead, capped on steep slopes and
    near crests and dips (``slope_cap``; ground truth)."""
    probes = np.arange(distance_m - config.lookbehind_m, distance_m + config.lookahead_m + 1e-9, probe_m)
    terrain = min(config.preferred_speed_mps[trail.terrain_at(float(x))] for x in probes)
    return float(min(terrain, slope_cap(trail, config, distance_m)))


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
