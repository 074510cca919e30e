"""The onboard camera: RGB, metric depth, per-pixel terrain labels, intrinsics and pose.

Rendered headless with PyBullet's software renderer. Labels come from the renderer's object
mask: every ground tile, hedge, tree and rock body is registered with its class; background is
``sky``; the robot's own body and anything unregistered is ``IGNORE_LABEL``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pybullet

from locomotion import kinematics as kin
from locomotion.config import config_dir, load_dataclass

IGNORE_LABEL = 255


@dataclasses.dataclass(frozen=True)
class CameraConfig:
    width_px: int = 160
    height_px: int = 120
    vertical_fov_deg: float = 60.0
    near_m: float = 0.05
    far_m: float = 30.0
    rate_hz: float = 15.0
    mount_xyz_m: tuple[float, float, float] = (0.27, 0.0, 0.05)
    mount_pitch_deg: float = 20.0
    frame_id: str = "camera_optical_frame"

    def __post_init__(self) -> None:
        if not (16 <= self.width_px <= 1920 and 16 <= self.height_px <= 1080):
            raise ValueError(
                f"width_px/height_px: must be within 16..1920 x 16..1080, got {self.width_px}x{self.height_px}"
            )
        if not 10.0 <= self.vertical_fov_deg <= 120.0:
            raise ValueError(f"vertical_fov_deg: must be in [10, 120], got {self.vertical_fov_deg}")
        if not 0 < self.near_m < self.far_m:
            raise ValueError("near_m/far_m: need 0 < near < far")
        if not 0 < self.rate_hz <= 60:
            raise ValueError(f"rate_hz: must be in (0, 60], got {self.rate_hz}")

    @property
    def intrinsics(self) -> np.ndarray:
        """3x3 pinhole matrix K in the OpenCV/ROS convention (pixel (u, v) = column, row index, pixel
        centres at integer coordinates). PyBullet's software renderer puts the optical axis at
        (W/2 - 1, H/2 - 1) in that convention; tests/test_camera.py checks K against rendered depth
        to 1e-5."""
        fy = self.height_px / 2 / np.tan(np.radians(self.vertical_fov_deg) / 2)
        return np.array([[fy, 0.0, self.width_px / 2 - 1], [0.0, fy, self.height_px / 2 - 1], [0.0, 0.0, 1.0]])


def load_camera_config(path: str | Path | None = None) -> CameraConfig:
    return load_dataclass(CameraConfig, path or config_dir() / "camera.yaml")


@dataclasses.dataclass
class CameraFrame:
    time_s: float
    rgb: np.ndarray  # (H, W, 3) uint8
    depth_m: np.ndarray  # (H, W) float32, distance along the optical axis
    labels: np.ndarray  # (H, W) uint8 class ids (IGNORE_LABEL where unknown)
    intrinsics: np.ndarray  # (3, 3)
    world_from_camera: np.ndarray  # (4, 4) pose of the optical frame in the world (odom) frame


# optical frame (z forward, x right, y down) expressed in a body-style frame (x forward, y left, z up)
BODY_FROM_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def camera_pose(trunk_position: np.ndarray, trunk_rotation: np.ndarray, config: CameraConfig) -> np.ndarray:
    """World pose (4x4) of the optical frame for a trunk pose."""
    pitch = np.radians(config.mount_pitch_deg)
    c, s = np.cos(pitch), np.sin(pitch)
    mount_rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])  # rotation about y: looks down
    pose = np.eye(4)
    pose[:3, :3] = trunk_rotation @ mount_rot @ BODY_FROM_OPTICAL
    pose[:3, 3] = trunk_position + trunk_rotation @ np.array(config.mount_xyz_m)
    return pose


def depth_from_buffer(buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """Metric z-depth from an OpenGL-style [0, 1] depth buffer."""
    return (far * near / (far - (far - near) * buffer)).astype(np.float32)


class Camera:
    def __init__(self, client: int, config: CameraConfig, body_labels: dict[int, int], sky_label: int,
                 lighting_seed: int = 0):
        self.client = client
        self.config = config
        self.sky_label = sky_label
        size = max(body_labels, default=0) + 2
        self._lookup = np.full(size + 1, IGNORE_LABEL, dtype=np.uint8)
        for body, label in body_labels.items():
            self._lookup[body] = label
        rng = np.random.default_rng(lighting_seed)
        self.light_direction = [float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)), float(rng.uniform(1.5, 3))]
        # exposure (common) and colour temperature (small per-channel) variation
        self.light_gain = rng.uniform(0.85, 1.15) * rng.uniform(0.96, 1.04, 3)
        self.sky_rgb = np.array([rng.uniform(130, 170), rng.uniform(170, 200), rng.uniform(215, 245)])
        aspect = config.width_px / config.height_px
        self._projection = pybullet.computeProjectionMatrixFOV(config.vertical_fov_deg, aspect, config.near_m,
                                                               config.far_m)

    def render(self, trunk_position: np.ndarray, trunk_quaternion: np.ndarray, time_s: float) -> CameraFrame:
        cfg = self.config
        pose = camera_pose(np.asarray(trunk_position), kin.quaternion_to_rotation(trunk_quaternion), cfg)
        eye = pose[:3, 3]
        forward = pose[:3, 2]
        up = -pose[:3, 1]
        view = pybullet.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), up.tolist())
        _, _, rgba, depth, seg = pybullet.getCameraImage(
            cfg.width_px, cfg.height_px, view, self._projection,
            renderer=pybullet.ER_TINY_RENDERER, lightDirection=self.light_direction, shadow=1,
            physicsClientId=self.client,
        )
        rgba = np.reshape(rgba, (cfg.height_px, cfg.width_px, 4))
        seg = np.reshape(seg, (cfg.height_px, cfg.width_px)).astype(np.int64)
        depth_m = depth_from_buffer(np.reshape(depth, (cfg.height_px, cfg.width_px)), cfg.near_m, cfg.far_m)
        background = seg < 0
        labels = self._lookup[np.clip(seg, 0, len(self._lookup) - 1)]
        labels[seg >= len(self._lookup)] = IGNORE_LABEL
        labels[background] = self.sky_label
        rgb = np.clip(rgba[..., :3].astype(float) * self.light_gain, 0, 255)
        rows = np.linspace(0.85, 1.05, cfg.height_px)[:, None, None]
        rgb[background] = (self.sky_rgb * rows * np.ones((1, cfg.width_px, 1)))[background]
        depth_m[background] = np.inf
        return CameraFrame(time_s, rgb.astype(np.uint8), depth_m, labels, cfg.intrinsics, pose)
