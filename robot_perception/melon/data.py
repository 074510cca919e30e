"""MELON data: turntable renders of PyBullet objects at random latitude/longitude, optional white
Gaussian noise, and the photometric self-similarity map that reveals pseudo-symmetries.

Objects are URDFs from pybullet_data, or bare meshes (``MESH_LOOKS``: a colour and an upright rotation),
scaled to fit a sphere of radius 0.9 at the origin; the camera sits on a sphere of
``radius`` looking at the origin with +z up; the background is white. Images are rendered at
``supersample`` times the size and box-averaged (anti-aliased, like a real sensor's pixel area), with
the principal point at the image centre as in robot_perception.melon.field.pixel_rays: PyBullet's
TinyRenderer samples pixel corners, half a pixel off the pinhole model, which a consistent 3D field
cannot reproduce (``projection_matrix`` moves it back). Ground-truth poses are
written next to the images (``poses_true.json``) for evaluation only; the trainer never reads it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pybullet
import pybullet_data

OBJECTS = {
    "duck": "duck_vhacd.urdf",
    "teddy": "teddy_vhacd.urdf",
    "r2d2": "r2d2.urdf",
    "racecar": "racecar/racecar.urdf",
    "husky": "husky/husky.urdf",
    "mug": "objects/mug.urdf",
    "table": "table/table.urdf",
    "block002": "random_urdfs/002/002.urdf",  # one of pybullet_data's random block compounds
    "xarm": "xarm/xarm6_robot.urdf",
    "a1": "a1/a1.urdf",
    "bunny": "bunny.obj",  # a bare mesh: see MESH_LOOKS
}
# bare meshes (no URDF): the colour they are rendered in and the rotation (roll, pitch, yaw) that stands
# them upright (the Stanford bunny's file is y-up)
MESH_LOOKS = {"bunny.obj": ((0.85, 0.55, 0.3, 1.0), (math.pi / 2, 0.0, 0.0))}


@dataclasses.dataclass(frozen=True)
class TurntableConfig:
    size_px: int = 64
    radius: float = 3.0
    fov_deg: float = 40.0
    lat_range_deg: tuple[float, float] = (5.0, 60.0)
    object_radius: float = 0.9
    supersample: int = 4


class TurntableRenderer:
    def __init__(self, object_name: str, config: TurntableConfig = TurntableConfig()):
        if object_name not in OBJECTS:
            raise ValueError(f"object: unknown {object_name!r} (known: {', '.join(OBJECTS)})")
        self.config = config
        self.client = pybullet.connect(pybullet.DIRECT)
        pybullet.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        self.projection = projection_matrix(config.fov_deg, config.size_px * config.supersample)
        if OBJECTS[object_name].endswith(".obj"):
            self.body = self._load_mesh(OBJECTS[object_name])
            return
        body = pybullet.loadURDF(OBJECTS[object_name], useFixedBase=True, physicsClientId=self.client)
        lo, hi = self._aabb(body)
        scale = config.object_radius / (0.5 * np.linalg.norm(hi - lo))
        pybullet.removeBody(body, physicsClientId=self.client)
        body = pybullet.loadURDF(OBJECTS[object_name], useFixedBase=True, globalScaling=float(scale),
                                 physicsClientId=self.client)
        lo, hi = self._aabb(body)
        pos, orn = pybullet.getBasePositionAndOrientation(body, physicsClientId=self.client)
        pybullet.resetBasePositionAndOrientation(body, np.array(pos) - (lo + hi) / 2, orn, physicsClientId=self.client)
        self.body = body

    def _load_mesh(self, file_name: str) -> int:
        """A visual-only body from a mesh file, scaled and centred by its vertices' bounding box."""
        colour, rpy = MESH_LOOKS[file_name]
        with open(Path(pybullet_data.getDataPath()) / file_name) as f:
            vertices = np.array([[float(x) for x in line.split()[1:4]] for line in f if line.startswith("v ")])
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        scale = self.config.object_radius / (0.5 * np.linalg.norm(hi - lo))
        orn = pybullet.getQuaternionFromEuler(rpy)
        rotation = np.reshape(pybullet.getMatrixFromQuaternion(orn), (3, 3))
        shape = pybullet.createVisualShape(pybullet.GEOM_MESH, fileName=file_name, meshScale=[scale] * 3,
                                           rgbaColor=list(colour), physicsClientId=self.client)
        return pybullet.createMultiBody(baseMass=0, baseVisualShapeIndex=shape,
                                        basePosition=(-rotation @ ((lo + hi) / 2 * scale)).tolist(),
                                        baseOrientation=orn, physicsClientId=self.client)

    def _aabb(self, body):
        boxes = [pybullet.getAABB(body, link, physicsClientId=self.client)
                 for link in range(-1, pybullet.getNumJoints(body, physicsClientId=self.client))]
        lo = np.min([b[0] for b in boxes], axis=0)
        hi = np.max([b[1] for b in boxes], axis=0)
        return lo, hi

    def render(self, lat: float, lon: float) -> np.ndarray:
        """(S, S, 3) float32 image in [0, 1] on white."""
        cfg = self.config
        size, k = cfg.size_px, cfg.supersample
        eye = cfg.radius * np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
        view = pybullet.computeViewMatrix(eye.tolist(), [0, 0, 0], [0, 0, 1])
        _, _, rgba, _, seg = pybullet.getCameraImage(size * k, size * k, view, self.projection,
                                                     renderer=pybullet.ER_TINY_RENDERER,
                                                     lightDirection=[1.0, 1.0, 2.0], physicsClientId=self.client)
        rgb = np.reshape(rgba, (size * k, size * k, 4))[..., :3].astype(np.float32) / 255.0
        rgb[np.reshape(seg, (size * k, size * k)) < 0] = 1.0
        return rgb.reshape(size, k, size, k, 3).mean(axis=(1, 3))

    def close(self) -> None:
        pybullet.disconnect(self.client)


def projection_matrix(fov_deg: float, size_px: int) -> list[float]:
    """PyBullet's (column-major OpenGL) projection for a square image, with its principal point moved
    by half a pixel right and down so that pixel (row, col) sees the pinhole ray through its centre."""
    projection = list(pybullet.computeProjectionMatrixFOV(fov_deg, 1.0, 0.1, 10.0))
    projection[8] += 1.0 / size_px  # shifts normalised x by -1/size: half a pixel
    projection[9] += 1.0 / size_px
    return projection


def focal_px(config: TurntableConfig) -> float:
    return (config.size_px / 2) / math.tan(math.radians(config.fov_deg) / 2)


def make_turntable_set(object_name: str, out: str | Path, views: int, held_out: int = 8, noise_sigma: float = 0.0,
                       seed: int = 0, config: TurntableConfig = TurntableConfig()) -> Path:
    """Write ``views`` training PNGs (unposed) and ``held_out`` test views, with true poses on the side."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "held_out").mkdir(parents=True, exist_ok=True)
    renderer = TurntableRenderer(object_name, config)
    low, high = np.radians(config.lat_range_deg)
    truth, held = {}, {}
    try:
        for i in range(views + held_out):
            # uniform on the sphere band: sample sin(lat) uniformly
            lat = float(np.arcsin(rng.uniform(np.sin(low), np.sin(high))))
            lon = float(rng.uniform(-math.pi, math.pi))
            image = renderer.render(lat, lon)
            if i < views and noise_sigma > 0:
                image = image + rng.normal(0.0, noise_sigma, image.shape).astype(np.float32)
            if i < views:
                name = f"view_{i:03d}.png"
                write_png(out / "images" / name, image, noise_sigma > 0)
                truth[name] = {"latitude_deg": math.degrees(lat), "longitude_deg": math.degrees(lon)}
            else:
                name = f"test_{i - views:03d}.png"
                write_png(out / "held_out" / name, image, False)
                held[name] = {"latitude_deg": math.degrees(lat), "longitude_deg": math.degrees(lon)}
    finally:
        renderer.close()
    (out / "poses_true.json").write_text(json.dumps(truth, indent=1))
    (out / "held_out" / "poses.json").write_text(json.dumps(held, indent=1))
    (out / "turntable.json").write_text(json.dumps({"object": object_name, "views": views, "held_out": held_out,
                                                     "noise_sigma": noise_sigma, "seed": seed,
                                                     **dataclasses.asdict(config)}, indent=1))
    return out


def write_png(path: Path, image: np.ndarray, noisy: bool) -> None:
    """8-bit PNG; noisy images are stored as 16-bit PNG of (x + 4) / 10 so noise below 0 and above 1
    survives (``read_image`` undoes it)."""
    if noisy:
        data = np.clip((image + 4.0) / 10.0 * 65535, 0, 65535).astype(np.uint16)
    else:
        data = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    cv2.imwrite(str(path), cv2.cvtColor(data, cv2.COLOR_RGB2BGR))


def read_image(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise ValueError(f"--images: {path.name} is not a readable image")
    if data.ndim == 2:
        data = np.repeat(data[..., None], 3, axis=2)
    if data.shape[2] == 4:
        data = data[..., :3]
    rgb = cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / 65535 * 10.0 - 4.0
    return rgb.astype(np.float32) / 255.0


def self_similarity(object_name: str, lat_deg: float = 30.0, steps: int = 72,
                    config: TurntableConfig = TurntableConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Azimuths (deg) and the mean L2 RGB distance between the view at azimuth 0 and each azimuth."""
    renderer = TurntableRenderer(object_name, config)
    try:
        azimuths = np.linspace(0.0, 360.0, steps, endpoint=False)
        lat = math.radians(lat_deg)
        reference = renderer.render(lat, 0.0)
        distance = np.array([np.sqrt(np.mean((renderer.render(lat, math.radians(a)) - reference) ** 2))
                             for a in azimuths])
    finally:
        renderer.close()
    return azimuths, distance
