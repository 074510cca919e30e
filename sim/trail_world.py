"""A trail built in PyBullet: one ground body per segment with its class's contact physics and
bumps, textured visual tiles, hedges, trees and rocks along the edges, and the drag layers
(deep grass, mud) acting on the feet.

Trail frame: the trail runs along +x from x = 0 (progress along the trail is x), centred on
y = 0; the first segment extends 3 m behind the start and the last 5 m beyond the end so the robot
never steps off the world. Heights accumulate segment slopes (the nominal surface is piecewise
linear); bumps taper to zero at segment joints so neighbouring bodies meet without a step.
"""

from __future__ import annotations

import bisect
import dataclasses
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pybullet
from numba import njit
from scipy import ndimage

from sim.terrain import TerrainCatalogue, load_terrain_catalogue
from sim.textures import make_texture
from sim.trail import Trail

GRID_M = 0.05  # heightfield resolution
TILE_M = 2.0  # length of a hedge block
QUAD_M = 0.25  # ground mesh resolution (depth accuracy of the software renderer)
TEXTURE_M = 1.0  # texture repeat on the ground
START_PAD_M = 3.0
END_PAD_M = 5.0
HEDGE_WIDTH_M = 1.5
HEDGE_HEIGHT_M = 0.5
FOOT_RADIUS_M = 0.02
FEET_REACH_M = 1.0  # no foot is farther than this from the trunk along the trail (the A1's are within 0.5 m)
CHUNK_M = 2.0  # length of a ground visual chunk in the camera's render scene (a multiple of QUAD_M)
AABB_MARGIN_M = 0.02  # render-scene bounding boxes are widened by this (float rounding in the renderer)


@dataclasses.dataclass(frozen=True)
class VisualPart:
    """One visual-only body of the camera's render scene (``sim.camera.RenderScene``): what
    ``createVisualShape`` needs, where it stands, its texture and colour, its class label and a
    world-frame bounding box (for culling against the camera's and the shadow light's frusta).
    ``shape_key`` names the visual shape so parts sharing one in the physics world share it here.
    A part with ``collision`` (a heightfield) has no visual shape of its own: the renderer draws
    its collision shape, and with alpha 0 only into the shadow map, as in the physics world."""

    shape_key: str
    shape: dict | None
    position: tuple[float, float, float]
    texture: str | None
    rgba: tuple[float, float, float, float]
    label: int
    aabb_min: tuple[float, float, float]
    aabb_max: tuple[float, float, float]
    collision: dict | None = None


def _part(shape_key: str, shape: dict | None, position, texture: str | None, rgba, label: int, lo, hi,
          collision: dict | None = None) -> VisualPart:
    lo = np.asarray(lo, dtype=float) - AABB_MARGIN_M
    hi = np.asarray(hi, dtype=float) + AABB_MARGIN_M
    return VisualPart(shape_key, shape, tuple(float(v) for v in position), texture, tuple(float(c) for c in rgba),
                      label, tuple(float(v) for v in lo), tuple(float(v) for v in hi), collision)


def _box_part(shape_key: str, shape: dict, position, texture: str, rgba, label: int, half_extents) -> VisualPart:
    pos, half = np.asarray(position, dtype=float), np.asarray(half_extents, dtype=float)
    return _part(shape_key, shape, pos, texture, rgba, label, pos - half, pos + half)


@dataclasses.dataclass
class SegmentGeometry:
    index: int
    terrain: str
    x_start: float  # geometry extent (pads included)
    x_end: float
    h_start: float  # nominal height at x_start
    slope: float  # tan of the slope angle


def ground_quads_along(seg: SegmentGeometry, quad_m: float = QUAD_M) -> int:
    """Number of ground-mesh quads along a segment."""
    return max(1, int(np.ceil((seg.x_end - seg.x_start) / quad_m)))


def ground_mesh(seg: SegmentGeometry, width: float, quad_m: float = QUAD_M, texture_m: float = TEXTURE_M,
                quads: tuple[int, int] | None = None) -> dict:
    """Vertices, triangle indices, UVs and normals of a segment's visible surface (world frame).

    Small quads keep the software renderer's per-triangle depth interpolation accurate; the
    texture repeats every ``texture_m`` (each quad maps to its part of the texture). ``quads``
    (first, end) keeps only those rows of quads along x: a chunk of the same mesh, with the very
    same vertices, UVs and triangle order."""
    nx = ground_quads_along(seg, quad_m)
    ny = max(1, int(np.ceil(width / quad_m)))
    xs = np.linspace(seg.x_start, seg.x_end, nx + 1)
    ys = np.linspace(-width / 2, width / 2, ny + 1)
    normal = np.array([-seg.slope, 0.0, 1.0]) / np.hypot(seg.slope, 1.0)
    vertices, indices, uvs = [], [], []
    first, end = quads or (0, nx)
    for i in range(first, end):
        u0 = ((xs[i] - seg.x_start) / texture_m) % 1.0
        du = (xs[i + 1] - xs[i]) / texture_m
        for j in range(ny):
            v0 = ((ys[j] + width / 2) / texture_m) % 1.0
            dv = (ys[j + 1] - ys[j]) / texture_m
            base = len(vertices)
            for di, dj in ((0, 0), (1, 0), (1, 1), (0, 1)):
                x, y = xs[i + di], ys[j + dj]
                vertices.append([x, y, seg.h_start + (x - seg.x_start) * seg.slope - 0.002])
                uvs.append([min(u0 + di * du, 1.0), min(v0 + dj * dv, 1.0)])
            indices += [base, base + 1, base + 2, base, base + 2, base + 3]
    return {"vertices": vertices, "indices": indices, "uvs": uvs, "normals": [normal.tolist()] * len(vertices)}


class TrailGround:
    has_foot_forces = True

    def __init__(self, trail: Trail, catalogue: TerrainCatalogue | None = None, seed: int | None = None,
                 texture_dir: str | Path | None = None):
        self.trail = trail
        self.catalogue = catalogue or load_terrain_catalogue()
        self.seed = trail.seed if seed is None else seed
        self.rng = np.random.default_rng(self.seed)
        self._texture_tmp = None if texture_dir else tempfile.TemporaryDirectory(prefix="semloco_tex_")
        self.texture_dir = Path(texture_dir or self._texture_tmp.name)
        self.segments = self._layout()
        self.body_labels: dict[int, int] = {}  # PyBullet body id -> class label id
        # the same visuals for a camera's own render scene (sim.camera.RenderScene), in build order
        self.visual_parts: list[VisualPart] = []
        self.texture_paths: dict[str, Path] = {}
        # per-segment arrays for the per-physics-step queries (foot drag)
        self._starts = np.array([s.x_start for s in self.segments])
        self._start_list = self._starts.tolist()
        self._h_starts = np.array([s.h_start for s in self.segments])
        self._slopes = np.array([s.slope for s in self.segments])
        self._layers = [self.catalogue.walkable[s.terrain].drag_layer for s in self.segments]
        self._layer_height = np.array([layer.height_m for layer in self._layers])
        dragging = [s for s, layer in zip(self.segments, self._layers) if layer.height_m > 0]
        self._drag_spans = [(s.x_start, s.x_end) for s in dragging]
        self._layer_quadratic = np.array([layer.quadratic for layer in self._layers])
        self._layer_max_force = np.array([layer.max_force_n for layer in self._layers])
        self._layer_vertical = np.array([layer.resists_vertical for layer in self._layers], dtype=bool)

    # --- geometry ------------------------------------------------------------------------------
    def _layout(self) -> list[SegmentGeometry]:
        out, x, h = [], 0.0, 0.0
        n = len(self.trail.segments)
        for i, seg in enumerate(self.trail.segments):
            slope = float(np.tan(np.radians(seg.slope_deg)))
            x0 = x - (START_PAD_M if i == 0 else 0.0)
            x1 = x + seg.length_m + (END_PAD_M if i == n - 1 else 0.0)
            h0 = h - (START_PAD_M * slope if i == 0 else 0.0)
            out.append(SegmentGeometry(i, seg.terrain, x0, x1, h0, slope))
            x += seg.length_m
            h += seg.length_m * slope
        return out

    def segment_index(self, x: float) -> int:
        return min(max(bisect.bisect_right(self._start_list, x) - 1, 0), len(self.segments) - 1)

    def height_at(self, x: float, y: float = 0.0) -> float:
        seg = self.segments[self.segment_index(x)]
        return seg.h_start + (x - seg.x_start) * seg.slope

    def heights_at(self, x: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(self._starts, x, side="right") - 1, 0, len(self.segments) - 1)
        return self._h_starts[idx] + (x - self._starts[idx]) * self._slopes[idx]

    def terrain_at(self, x: float) -> str:
        return self.segments[self.segment_index(x)].terrain

    # --- building ------------------------------------------------------------------------------
    def _texture(self, p, name: str, appearance) -> int:
        path = self.texture_dir / f"{name}_{self.seed}.png"
        self.texture_paths[name] = path
        if not path.exists():
            seed = int(self.rng.integers(0, 2**31))
            cv2.imwrite(str(path), cv2.cvtColor(make_texture(appearance, seed), cv2.COLOR_RGB2BGR))
        return p.loadTexture(str(path))

    def build(self, p) -> None:
        self.body_labels = {}
        self.visual_parts = []
        cat = self.catalogue
        textures = {name: self._texture(p, name, t.appearance) for name, t in cat.walkable.items()}
        textures.update({name: self._texture(p, name, s.appearance) for name, s in cat.scenery.items()})
        width = self.trail.width_m
        for seg in self.segments:
            self._build_segment(p, seg, width, textures[seg.terrain])
            self._segment_parts(seg, width)
        self._build_edges(p, width, textures)
        self._build_obstacles(p, textures["rock"])

    def _build_obstacles(self, p, texture: int) -> None:
        rock = self.catalogue.label_id("rock")
        for ob in self.trail.obstacles:
            half = [ob.size_m / 2, ob.size_m / 2, ob.height_m / 2]
            col = p.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half)
            vis = p.createVisualShape(pybullet.GEOM_BOX, halfExtents=half)
            x = ob.at_m + ob.size_m / 2
            position = [x, ob.lateral_m, self.height_at(x) + ob.height_m / 2]
            body = p.createMultiBody(0, col, vis, position)
            p.changeVisualShape(body, -1, textureUniqueId=texture, rgbaColor=[1, 1, 1, 1])
            self.body_labels[body] = rock
            self.visual_parts.append(_box_part(f"obstacle{body}", {"shapeType": pybullet.GEOM_BOX, "halfExtents": half},
                                               position, "rock", (1, 1, 1, 1), rock, half))

    def _segment_parts(self, seg: SegmentGeometry, width: float) -> None:
        """The segment's visible surface as chunks of CHUNK_M along x (the render scene keeps only
        the chunks in view; the physics world has the whole segment as one mesh)."""
        label = self.catalogue.label_id(seg.terrain)
        nx = ground_quads_along(seg)
        step = max(1, round(CHUNK_M / QUAD_M))
        for first in range(0, nx, step):
            mesh = ground_mesh(seg, width, quads=(first, min(first + step, nx)))
            vertices = np.array(mesh["vertices"])
            self.visual_parts.append(_part(f"ground{seg.index}_{first}", {"shapeType": pybullet.GEOM_MESH, **mesh},
                                           (0.0, 0.0, 0.0), seg.terrain, (1, 1, 1, 1), label,
                                           vertices.min(axis=0), vertices.max(axis=0)))

    def _build_segment(self, p, seg: SegmentGeometry, width: float, texture: int) -> None:
        terrain = self.catalogue.walkable[seg.terrain]
        length = seg.x_end - seg.x_start
        nx = round(length / GRID_M) + 1
        ny = round(width / GRID_M) + 1
        xs = seg.x_start + np.arange(nx) * GRID_M
        heights = np.tile(((xs - seg.x_start) * seg.slope)[:, None], (1, ny))
        amplitude = terrain.contact.unevenness_m
        if amplitude > 0:
            bumps = ndimage.gaussian_filter(self.rng.standard_normal((nx, ny)), 1.2, mode="wrap")
            bumps *= amplitude / max(np.abs(bumps).max(), 1e-9)
            taper = np.clip(np.minimum(np.arange(nx), np.arange(nx)[::-1]) / 10.0, 0.0, 1.0)
            heights += bumps * taper[:, None]
        # PyBullet centres a heightfield between its lowest and highest point
        mid = 0.5 * (heights.min() + heights.max())
        collision = {"shapeType": pybullet.GEOM_HEIGHTFIELD, "meshScale": [GRID_M, GRID_M, 1.0],
                     "heightfieldData": (heights - mid).T.ravel().tolist(), "numHeightfieldRows": nx,
                     "numHeightfieldColumns": ny}
        shape = p.createCollisionShape(**collision)
        position = [seg.x_start + (nx - 1) * GRID_M / 2, 0.0, seg.h_start + mid]
        body = p.createMultiBody(0, shape, -1, position)
        c = terrain.contact
        dyn = {"lateralFriction": c.lateral_friction, "restitution": c.restitution}
        if c.stiffness_n_per_m is not None:
            dyn.update(contactStiffness=c.stiffness_n_per_m, contactDamping=c.damping_n_s_per_m)
        p.changeDynamics(body, -1, **dyn)
        p.changeVisualShape(body, -1, rgbaColor=[0, 0, 0, 0])  # the tiles below are what the camera sees
        label = self.catalogue.label_id(seg.terrain)
        self.body_labels[body] = label
        # the invisible heightfield still casts into the renderer's shadow map
        self.visual_parts.append(_part(f"heightfield{seg.index}", None, position, None, (0, 0, 0, 0), label,
                                       [seg.x_start, -width / 2, seg.h_start + heights.min()],
                                       [seg.x_start + (nx - 1) * GRID_M, width / 2, seg.h_start + heights.max()],
                                       collision=collision))
        # textured visual surface: one mesh of 1 m quads on the nominal (sloped) surface, each quad
        # carrying the whole texture so it keeps a ~4 mm texel whatever the segment's size
        visual = p.createVisualShape(pybullet.GEOM_MESH, **ground_mesh(seg, width))
        tile = p.createMultiBody(0, -1, visual, [0.0, 0.0, 0.0])
        p.changeVisualShape(tile, -1, textureUniqueId=texture, rgbaColor=[1, 1, 1, 1])
        self.body_labels[tile] = label

    def _build_edges(self, p, width: float, textures: dict[str, int]) -> None:
        cat = self.catalogue
        x0, x1 = self.segments[0].x_start, self.segments[-1].x_end
        bush, tree, rock = cat.label_id("bush"), cat.label_id("tree"), cat.label_id("rock")
        # hedges lining both sides, in tiles so the texture keeps its scale
        n = int(np.ceil((x1 - x0) / TILE_M))
        hedge_half = [TILE_M / 2, HEDGE_WIDTH_M / 2, HEDGE_HEIGHT_M / 2]
        hedge_col = p.createCollisionShape(pybullet.GEOM_BOX, halfExtents=hedge_half)
        hedge_vis = p.createVisualShape(pybullet.GEOM_BOX, halfExtents=hedge_half)
        for k in range(n):
            xc = x0 + (k + 0.5) * TILE_M
            for side in (-1, 1):
                height = self.height_at(xc) + HEDGE_HEIGHT_M / 2 - self.rng.uniform(0.0, 0.15)
                position = [xc, side * (width / 2 + HEDGE_WIDTH_M / 2), height]
                body = p.createMultiBody(0, hedge_col, hedge_vis, position)
                p.changeVisualShape(body, -1, textureUniqueId=textures["bush"], rgbaColor=[1, 1, 1, 1])
                self.body_labels[body] = bush
                self.visual_parts.append(_box_part("hedge", {"shapeType": pybullet.GEOM_BOX, "halfExtents": hedge_half},
                                               position, "bush", (1, 1, 1, 1), bush, hedge_half))
        # trees behind the hedges and rocks on the trail's edge
        x = x0 + self.rng.uniform(2, 6)
        trunk_vis = p.createVisualShape(pybullet.GEOM_CYLINDER, radius=0.15, length=2.5)
        crown_vis = p.createVisualShape(pybullet.GEOM_SPHERE, radius=1.1)
        while x < x1:
            side = self.rng.choice([-1, 1])
            y = side * (width / 2 + HEDGE_WIDTH_M + self.rng.uniform(0.3, 2.0))
            base = self.height_at(x)
            trunk = p.createMultiBody(0, -1, trunk_vis, [x, y, base + 1.25])
            crown = p.createMultiBody(0, -1, crown_vis, [x, y, base + 2.9])
            p.changeVisualShape(trunk, -1, textureUniqueId=textures["tree"], rgbaColor=[1, 1, 1, 1])
            p.changeVisualShape(crown, -1, textureUniqueId=textures["bush"], rgbaColor=[0.6, 0.8, 0.6, 1])
            self.body_labels[trunk] = tree
            self.body_labels[crown] = tree
            trunk_shape = {"shapeType": pybullet.GEOM_CYLINDER, "radius": 0.15, "length": 2.5}
            self.visual_parts.append(_box_part("trunk", trunk_shape, [x, y, base + 1.25], "tree", (1, 1, 1, 1), tree,
                                               [0.15, 0.15, 1.25]))
            self.visual_parts.append(_box_part("crown", {"shapeType": pybullet.GEOM_SPHERE, "radius": 1.1},
                                           [x, y, base + 2.9], "bush", (0.6, 0.8, 0.6, 1), tree, [1.1, 1.1, 1.1]))
            x += self.rng.uniform(4, 10)
        x = x0 + self.rng.uniform(1, 4)
        while x < x1:
            size = self.rng.uniform(0.12, 0.3)
            side = self.rng.choice([-1, 1])
            y = side * (width / 2 - size * 0.3)
            shape = p.createCollisionShape(pybullet.GEOM_SPHERE, radius=size)
            vis = p.createVisualShape(pybullet.GEOM_SPHERE, radius=size)
            position = [x, y, self.height_at(x) + size * 0.3]
            body = p.createMultiBody(0, shape, vis, position)
            p.changeVisualShape(body, -1, textureUniqueId=textures["rock"], rgbaColor=[1, 1, 1, 1])
            self.body_labels[body] = rock
            self.visual_parts.append(_box_part(f"rock{body}", {"shapeType": pybullet.GEOM_SPHERE, "radius": size},
                                           position, "rock", (1, 1, 1, 1), rock, [size, size, size]))
            x += self.rng.uniform(3, 9)

    # --- forces on the feet --------------------------------------------------------------------
    def feet_may_drag(self, trunk_x: float) -> bool:
        """Whether a segment with a drag layer lies within FEET_REACH_M of the trunk along the trail."""
        return any(start <= trunk_x + FEET_REACH_M and end >= trunk_x - FEET_REACH_M for start, end in self._drag_spans)

    def foot_forces(self, positions: np.ndarray, velocities: np.ndarray) -> np.ndarray:
        """(n, 3) drag of the feet's segments' layers (``sim.terrain.layer_drag``, the same numbers),
        for all feet at once: it runs every physics step (one compiled kernel, ``drag_forces``)."""
        return drag_forces(np.asarray(positions, dtype=np.float64), np.asarray(velocities, dtype=np.float64),
                           self._starts, self._h_starts, self._slopes, self._layer_height, self._layer_quadratic,
                           self._layer_max_force, self._layer_vertical)

    def close(self) -> None:
        if self._texture_tmp is not None:
            self._texture_tmp.cleanup()


@njit(cache=True)
def drag_forces(positions, velocities, starts, h_starts, slopes, layer_height, quadratic, max_force, vertical):
    """(n, 3) drag on feet at ``positions`` (n, 3) moving at ``velocities`` (n, 3): each foot in its
    segment's layer (segments from ``starts``, sorted; nominal surface ``h_starts`` + slope) gets
    ``sim.terrain.layer_drag``'s force, float for float (the same operations in the same order)."""
    n = positions.shape[0]
    forces = np.zeros((n, 3))
    last = starts.shape[0] - 1
    for k in range(n):
        x = positions[k, 0]
        seg = min(max(np.searchsorted(starts, x, side="right") - 1, 0), last)
        height = positions[k, 2] - FOOT_RADIUS_M - (h_starts[seg] + (x - starts[seg]) * slopes[seg])
        layer = layer_height[seg]
        if not (layer > 0 and height < layer and quadratic[seg] > 0):
            continue
        m0, m1, m2 = velocities[k, 0], velocities[k, 1], velocities[k, 2]
        if not vertical[seg]:
            m2 = 0.0
        speed = np.sqrt(m0 * m0 + m1 * m1 + m2 * m2)
        depth = min(max((layer - height) / layer, 0.0), 1.0)
        magnitude = min(quadratic[seg] * depth * speed**2, max_force[seg])
        if speed > 1e-9:
            forces[k, 0] = -magnitude * (m0 / speed)
            forces[k, 1] = -magnitude * (m1 / speed)
            forces[k, 2] = -magnitude * (m2 / speed)
    return forces
