"""Trails: an ordered list of terrain segments, loaded from YAML and validated field by field.

    name: example
    seed: 3
    width_m: 3.0            # optional
    segments:
      - {terrain: asphalt, length_m: 12}
      - {terrain: deep_grass, length_m: 8, slope_deg: 3}

Built-in trails live in ``config/trails/`` and are loaded by name (``demo``, ``paper460``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from locomotion.config import ConfigError, config_dir, load_yaml
from sim.terrain import load_terrain_catalogue

MAX_SLOPE_DEG = 15.0
SEGMENT_LENGTH_RANGE_M = (4.0, 9.0)  # of random trails' segments (random_trail)


@dataclasses.dataclass(frozen=True)
class TrailSegment:
    terrain: str
    length_m: float
    slope_deg: float = 0.0


@dataclasses.dataclass(frozen=True)
class TrailObstacle:
    """A boulder on the trail (class ``rock``): a box ``size_m`` wide and deep, ``height_m`` tall."""

    at_m: float  # distance along the trail of its near face
    lateral_m: float = 0.0  # centre offset from the trail's centre line (+ left)
    size_m: float = 0.6
    height_m: float = 0.5


@dataclasses.dataclass(frozen=True)
class Trail:
    name: str
    seed: int
    segments: tuple[TrailSegment, ...]
    width_m: float = 3.0
    obstacles: tuple[TrailObstacle, ...] = ()

    @property
    def length_m(self) -> float:
        return float(sum(s.length_m for s in self.segments))

    @property
    def segment_starts_m(self) -> np.ndarray:
        """Distance along the trail at which each segment starts."""
        return np.concatenate([[0.0], np.cumsum([s.length_m for s in self.segments])[:-1]])

    def terrain_at(self, distance_m: float) -> str:
        """Terrain under a point ``distance_m`` along the trail (clamped to the ends)."""
        index = int(np.searchsorted(self.segment_starts_m, distance_m, side="right")) - 1
        return self.segments[min(max(index, 0), len(self.segments) - 1)].terrain


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)


def trail_from_dict(data: dict, source: str = "trail") -> Trail:
    catalogue = load_terrain_catalogue()
    known = {"name", "seed", "segments", "width_m", "obstacles"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{source}: {key}: unknown field (known: {', '.join(sorted(known))})")
    for key in ("name", "seed", "segments"):
        if key not in data:
            raise ConfigError(f"{source}: {key}: missing required field")
    if not isinstance(data["name"], str) or not data["name"]:
        raise ConfigError(f"{source}: name: expected a non-empty string, got {data['name']!r}")
    if isinstance(data["seed"], bool) or not isinstance(data["seed"], int) or data["seed"] < 0:
        raise ConfigError(f"{source}: seed: expected a non-negative integer, got {data['seed']!r}")
    width = _number(data.get("width_m", 3.0), f"{source}: width_m")
    if not 1.0 <= width <= 20.0:
        raise ConfigError(f"{source}: width_m: must be in [1, 20] m, got {width}")
    raw_segments = data["segments"]
    if not isinstance(raw_segments, list) or not raw_segments:
        raise ConfigError(f"{source}: segments: expected a non-empty list")
    segments = []
    for i, raw in enumerate(raw_segments):
        where = f"{source}: segments[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping with terrain and length_m")
        for key in raw:
            if key not in ("terrain", "length_m", "slope_deg"):
                raise ConfigError(f"{where}.{key}: unknown field (known: length_m, slope_deg, terrain)")
        if "terrain" not in raw:
            raise ConfigError(f"{where}.terrain: missing required field")
        if "length_m" not in raw:
            raise ConfigError(f"{where}.length_m: missing required field")
        terrain = raw["terrain"]
        if terrain not in catalogue.walkable:
            raise ConfigError(f"{where}.terrain: unknown or non-walkable terrain {terrain!r} "
                              f"(walkable: {', '.join(catalogue.walkable)})")
        length = _number(raw["length_m"], f"{where}.length_m")
        if not 0.0 < length <= 1000.0:
            raise ConfigError(f"{where}.length_m: must be in (0, 1000] m, got {length}")
        slope = _number(raw.get("slope_deg", 0.0), f"{where}.slope_deg")
        if abs(slope) > MAX_SLOPE_DEG:
            raise ConfigError(f"{where}.slope_deg: must be within +-{MAX_SLOPE_DEG} deg, got {slope}")
        segments.append(TrailSegment(terrain, length, slope))
    total = sum(seg.length_m for seg in segments)
    raw_obstacles = data.get("obstacles", [])
    if not isinstance(raw_obstacles, list):
        raise ConfigError(f"{source}: obstacles: expected a list")
    obstacles = []
    for i, raw in enumerate(raw_obstacles):
        where = f"{source}: obstacles[{i}]"
        if not isinstance(raw, dict) or "at_m" not in raw:
            raise ConfigError(f"{where}.at_m: missing required field")
        fields = {f.name for f in dataclasses.fields(TrailObstacle)}
        for key in raw:
            if key not in fields:
                raise ConfigError(f"{where}.{key}: unknown field (known: {', '.join(sorted(fields))})")
        values = {k: _number(v, f"{where}.{k}") for k, v in raw.items()}
        if not 0.0 < values["at_m"] < total:
            raise ConfigError(f"{where}.at_m: must be inside the trail (0, {total:g}) m, got {values['at_m']}")
        if not 0.1 <= values.get("size_m", 0.6) <= width or not 0.1 <= values.get("height_m", 0.5) <= 3.0:
            raise ConfigError(f"{where}: size_m must be in [0.1, width_m] and height_m in [0.1, 3] m")
        obstacles.append(TrailObstacle(**values))
    return Trail(data["name"], data["seed"], tuple(segments), width, tuple(obstacles))


def builtin_trails() -> list[str]:
    return sorted(p.stem for p in (config_dir() / "trails").glob("*.yaml"))


def load_trail(name_or_path: str | Path) -> Trail:
    """A built-in trail by name, or a trail YAML file by path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        if str(name_or_path) not in builtin_trails():
            raise ConfigError(f"trail: unknown trail {str(name_or_path)!r} "
                              f"(built-in: {', '.join(builtin_trails())}; or give a .yaml file)")
        path = config_dir() / "trails" / f"{name_or_path}.yaml"
    return trail_from_dict(load_yaml(path), path.name)


def random_trail(seed: int, n_segments: int = 5, length_range_m: tuple[float, float] = SEGMENT_LENGTH_RANGE_M,
                 name: str | None = None, max_slope_deg: float = 10.0, flat_share: float = 0.4) -> Trail:
    """A generated trail: ``n_segments`` walkable terrains (no two neighbours alike). Each segment
    is flat with probability ``flat_share``, else sloped uniformly within +-``max_slope_deg``, so
    neighbouring segments make crests and dips (changes of slope up to twice the maximum) as well as
    climbs and descents. ``max_slope_deg=0`` gives flat trails."""
    from sim.terrain import WALKABLE_CLASSES

    if not 0.0 <= max_slope_deg <= MAX_SLOPE_DEG:
        raise ValueError(f"max_slope_deg: must be in [0, {MAX_SLOPE_DEG}], got {max_slope_deg}")
    rng = np.random.default_rng(seed)
    segments, previous = [], None
    for _ in range(n_segments):
        terrain = str(rng.choice([t for t in WALKABLE_CLASSES if t != previous]))
        length = float(np.round(rng.uniform(*length_range_m), 1))
        sloped = max_slope_deg > 0 and rng.random() >= flat_share
        slope = round(float(rng.uniform(-max_slope_deg, max_slope_deg)), 1) if sloped else 0.0
        segments.append(TrailSegment(terrain, length, slope))
        previous = terrain
    return Trail(name or f"random_{seed}", seed, tuple(segments))
