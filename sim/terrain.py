"""The terrain catalogue: one definition per class, holding its appearance and its physics.

Loaded from ``config/terrains.yaml`` (which documents every number and why). Walkable classes
are the ones a trail segment may use; scenery classes only appear at the trail's edges.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np

from locomotion.config import ConfigError, config_dir, from_dict, load_yaml

WALKABLE_CLASSES = ("asphalt", "concrete", "gravel", "pebbles", "grass", "deep_grass", "mud", "sand")
SCENERY_CLASSES = ("bush", "tree", "rock", "sky")
RANGELESS_CLASSES = ("sky",)  # no surface at a finite range: never an obstacle


@dataclasses.dataclass(frozen=True)
class ContactPhysics:
    lateral_friction: float
    restitution: float
    stiffness_n_per_m: float | None  # None: rigid contact
    damping_n_s_per_m: float | None
    unevenness_m: float

    def __post_init__(self) -> None:
        if not 0.0 < self.lateral_friction <= 2.0:
            raise ValueError(f"lateral_friction: must be in (0, 2], got {self.lateral_friction}")
        if not 0.0 <= self.restitution < 1.0:
            raise ValueError(f"restitution: must be in [0, 1), got {self.restitution}")
        if (self.stiffness_n_per_m is None) != (self.damping_n_s_per_m is None):
            raise ValueError("stiffness_n_per_m/damping_n_s_per_m: give both or neither")
        if self.stiffness_n_per_m is not None and self.stiffness_n_per_m <= 0:
            raise ValueError(f"stiffness_n_per_m: must be positive, got {self.stiffness_n_per_m}")
        if not 0.0 <= self.unevenness_m <= 0.05:
            raise ValueError(f"unevenness_m: must be in [0, 0.05], got {self.unevenness_m}")


@dataclasses.dataclass(frozen=True)
class DragLayer:
    """A layer ``height_m`` thick over the ground resisting feet moving through it (see terrains.yaml)."""

    height_m: float
    quadratic: float  # N s^2 / m^2 at full depth
    max_force_n: float
    resists_vertical: bool

    def __post_init__(self) -> None:
        for name in ("height_m", "quadratic", "max_force_n"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be non-negative, got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class Appearance:
    texture: str  # "skimage:<image>" (real photo) or "procedural:<pattern>"
    base_rgb: tuple[float, float, float]
    jitter: float

    def __post_init__(self) -> None:
        kind = self.texture.split(":", 1)[0]
        if kind not in ("skimage", "procedural") or ":" not in self.texture:
            raise ValueError(f"texture: expected 'skimage:<name>' or 'procedural:<name>', got {self.texture!r}")
        if any(not 0.0 <= c <= 1.0 for c in self.base_rgb):
            raise ValueError(f"base_rgb: components must be in [0, 1], got {self.base_rgb}")


@dataclasses.dataclass(frozen=True)
class WalkableTerrain:
    contact: ContactPhysics
    drag_layer: DragLayer
    appearance: Appearance


@dataclasses.dataclass(frozen=True)
class SceneryClass:
    appearance: Appearance


@dataclasses.dataclass(frozen=True)
class TerrainCatalogue:
    walkable: dict[str, WalkableTerrain]
    scenery: dict[str, SceneryClass]

    @property
    def class_names(self) -> tuple[str, ...]:
        """All classes in label order: walkable first, then scenery. Label id = index."""
        return tuple(self.walkable) + tuple(self.scenery)

    def label_id(self, name: str) -> int:
        try:
            return self.class_names.index(name)
        except ValueError:
            raise ValueError(f"terrain: unknown class {name!r} (known: {', '.join(self.class_names)})") from None


@lru_cache(maxsize=4)
def load_terrain_catalogue(path: str | Path | None = None) -> TerrainCatalogue:
    path = Path(path) if path else config_dir() / "terrains.yaml"
    try:
        catalogue = from_dict(TerrainCatalogue, load_yaml(path))
    except ConfigError as exc:
        raise ConfigError(f"{path.name}: {exc}") from exc
    missing = [c for c in WALKABLE_CLASSES if c not in catalogue.walkable]
    if missing:
        raise ConfigError(f"{path.name}: walkable.{missing[0]}: missing required class")
    overlap = set(catalogue.walkable) & set(catalogue.scenery)
    if overlap:
        raise ConfigError(f"{path.name}: scenery.{sorted(overlap)[0]}: also defined as walkable")
    return catalogue


def layer_drag(foot_height_m, foot_velocity, layer: DragLayer) -> np.ndarray:
    """(n, 3) forces on feet ``foot_height_m`` (n,) above the ground moving at ``foot_velocity`` (n, 3)."""
    height = np.asarray(foot_height_m, dtype=float)
    moving = np.asarray(foot_velocity, dtype=float).copy()
    if layer.height_m <= 0.0 or layer.quadratic <= 0.0:
        return np.zeros_like(moving)
    if not layer.resists_vertical:
        moving[:, 2] = 0.0
    speed = np.linalg.norm(moving, axis=1)
    depth = np.clip((layer.height_m - height) / layer.height_m, 0.0, 1.0)
    magnitude = np.minimum(layer.quadratic * depth * speed**2, layer.max_force_n)
    direction = np.divide(moving, speed[:, None], out=np.zeros_like(moving), where=speed[:, None] > 1e-9)
    return -magnitude[:, None] * direction
