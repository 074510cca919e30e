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
    depth_m: np.ndarray | None  # (H, W) float32, distance along the optical axis (None: rgb_only)
    labels: np.ndarray | None  # (H, W) uint8 class ids (IGNORE_LABEL where unknown; None: rgb_only)
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


def clip_from_view(view: list[float] | tuple, projection: list[float] | tuple) -> np.ndarray:
    """4x4 clip-from-world matrix of PyBullet's column-major view and projection matrices."""
    return np.reshape(projection, (4, 4)).T @ np.reshape(view, (4, 4)).T


def light_view_matrix(light_direction, distance: float = 2.0) -> np.ndarray:
    """View matrix of the tiny renderer's shadow pass: it looks from ``distance`` along the
    (normalised) light direction at the world origin, z up (TinyRenderer.cpp, ``lookat``)."""
    eye = np.asarray(light_direction, dtype=float)
    eye = eye / np.linalg.norm(eye) * distance
    f = -eye / np.linalg.norm(eye)
    s = np.cross(f, [0.0, 0.0, 1.0])
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = s, u, -f
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(N, 8, 4) the corners of axis-aligned boxes [lo, hi] (N, 3), in homogeneous coordinates."""
    corners = np.stack([np.where(np.array(mask)[None, :], hi, lo) for mask in np.ndindex(2, 2, 2)], axis=1)
    return np.concatenate([corners, np.ones((*corners.shape[:2], 1))], axis=2)


def corners_outside(clip_from_world: np.ndarray, corners: np.ndarray, far: bool) -> np.ndarray:
    """``boxes_outside`` of boxes given by their ``box_corners`` (a scene's boxes do not move, so
    their corners are computed once)."""
    x, y, z, w = np.moveaxis(corners @ clip_from_world.T, 2, 0)
    out = (np.all(w <= 0, axis=1) | np.all(x > w, axis=1) | np.all(x < -w, axis=1)
           | np.all(y > w, axis=1) | np.all(y < -w, axis=1))
    if far:
        out |= np.all(z > w, axis=1)
    return out


def boxes_outside(clip_from_world: np.ndarray, lo: np.ndarray, hi: np.ndarray, far: bool) -> np.ndarray:
    """(N,) True where an axis-aligned box [lo, hi] (N, 3) is wholly outside the view volume:
    every corner beyond the same side plane (x or y past +-w), behind the eye (w <= 0), or, with
    ``far``, beyond the far plane (z > w). The renderer draws no pixel of such a box: clip
    coordinates are affine in the position, so the whole box is where its corners are."""
    return corners_outside(clip_from_world, box_corners(lo, hi), far)


ROBOT_RADIUS_M = 1.0  # every visual of the A1 lies within this of its base's centre of mass


class RenderScene:
    """The camera's own PyBullet client holding only what its frames are made of.

    The physics world's renderer draws every visual of the whole trail twice a frame (a shadow
    pass from the light, then the colour pass), the invisible collision heightfields and the
    robot's detailed meshes included. This scene holds the trail's visual parts
    (``TrailGround.visual_parts``: ground meshes in CHUNK_M chunks, hedges, trees, rocks, boulders,
    and the heightfields as shadow casters) and a copy of the robot whose base pose and joint
    angles are copied from the physics world before a frame. The renderer holds only

    * the parts that can reach the shadow map: the shadow pass looks from 2 m along the light
      direction at the world origin through the camera's projection, a fixed volume, so this set
      is fixed (the start of the trail); every colour fragment looks the shadow map up (clamped to
      its edge when it falls outside), so all of the map must be as in the physics world;
    * the parts that can reach the camera's image (a box test against its view volume each frame),
      with a look-ahead so that the set is rebuilt only every few metres;
    * the robot while it can reach the shadow map (the first metres of the trail). Elsewhere it is
      left out: the onboard camera on the trunk's nose, pitched 20 degrees down with a 60 degree
      field, does not see the walking robot (no robot pixel in any frame of the demo trail), so
      it draws no pixel there. A leg raised into that view (far outside the gaits) would be
      missing from the frame; a conservative per-link test (0.25 m balls about the leg links)
      keeps the robot in every frame and gives up most of the gain.

    Parts are always added in the physics world's build order and the robot last, as there: on
    equal depth the renderer keeps the fragment drawn last. Everything left out draws no pixel in
    either pass, so frames equal the physics world's pixel for pixel
    (tests/test_render_scene.py).
    """

    def __init__(self, parts, texture_paths: dict, light_direction, projection, physics_client: int,
                 robot_id: int | None = None, robot_urdf: str | None = None, robot_flags: int = 0,
                 lookahead_m: float = 8.0, keep_robot: bool = False):
        self.parts = list(parts)
        self.keep_robot = keep_robot  # keep the robot in every frame (a camera that may see it)
        self.physics_client = physics_client
        self.client = pybullet.connect(pybullet.DIRECT)
        self.lookahead_m = lookahead_m
        self._textures = {name: pybullet.loadTexture(str(path), physicsClientId=self.client)
                          for name, path in texture_paths.items()}
        self._shapes: dict[str, int] = {}
        self._lo = np.array([p.aabb_min for p in self.parts], dtype=float).reshape(-1, 3)
        self._hi = np.array([p.aabb_max for p in self.parts], dtype=float).reshape(-1, 3)
        self._corners = box_corners(self._lo, self._hi)  # (N, 8, 4), for the per-frame culling
        self._visible = np.array([p.rgba[3] > 0 for p in self.parts], dtype=bool)
        self._light = clip_from_view(light_view_matrix(light_direction).T.ravel(), projection)
        self.shadow_parts = ~boxes_outside(self._light, self._lo, self._hi, far=False)
        self._robot = (robot_id, robot_urdf, robot_flags) if robot_id is not None else None
        self._robot_joints: list[int] = []
        self.robot_copy: int | None = None
        self.active = np.zeros(len(self.parts), dtype=bool)
        self.labels: dict[int, int] = {}  # body id in this client -> class label
        self.rebuilds = 0

    def close(self) -> None:
        if self.client >= 0:
            pybullet.disconnect(self.client)
            self.client = -1

    def _create(self, part) -> int:
        c = self.client
        shape = self._shapes.get(part.shape_key)
        if part.collision is not None:
            if shape is None:
                shape = self._shapes[part.shape_key] = pybullet.createCollisionShape(**part.collision,
                                                                                     physicsClientId=c)
            body = pybullet.createMultiBody(0, shape, -1, list(part.position), physicsClientId=c)
        else:
            if shape is None:
                shape = self._shapes[part.shape_key] = pybullet.createVisualShape(**part.shape, physicsClientId=c)
            body = pybullet.createMultiBody(0, -1, shape, list(part.position), physicsClientId=c)
        texture = {} if part.texture is None else {"textureUniqueId": self._textures[part.texture]}
        pybullet.changeVisualShape(body, -1, rgbaColor=list(part.rgba), physicsClientId=c, **texture)
        return body

    def _robot_needed(self) -> bool:
        """Whether the robot can reach the shadow map (a ROBOT_RADIUS_M ball about its base)."""
        if self._robot is None:
            return False
        if self.keep_robot:
            return True
        base = pybullet.getBasePositionAndOrientation(self._robot[0], physicsClientId=self.physics_client)
        centre = np.array(base[0])[None]
        return not boxes_outside(self._light, centre - ROBOT_RADIUS_M, centre + ROBOT_RADIUS_M, far=False)[0]

    def _add_robot(self) -> None:
        c = self.client
        _, urdf, flags = self._robot
        self.robot_copy = pybullet.loadURDF(urdf, [0, 0, 0], [0, 0, 0, 1], flags=flags, physicsClientId=c)
        joints = range(pybullet.getNumJoints(self.robot_copy, physicsClientId=c))
        kinds = [pybullet.getJointInfo(self.robot_copy, j, physicsClientId=c)[2] for j in joints]
        self._robot_joints = [j for j, kind in zip(joints, kinds) if kind != pybullet.JOINT_FIXED]

    def _remove_robot(self) -> None:
        # the robot's links are the last render instances: removing them leaves the others' order
        pybullet.removeBody(self.robot_copy, physicsClientId=self.client)
        self.robot_copy = None

    def _rebuild(self, wanted: np.ndarray, robot: bool) -> None:
        c = self.client
        for index in range(pybullet.getNumBodies(physicsClientId=c) - 1, -1, -1):
            pybullet.removeBody(pybullet.getBodyUniqueId(index, physicsClientId=c), physicsClientId=c)
        self.robot_copy = None
        self.labels = {}
        for index in np.flatnonzero(wanted):
            self.labels[self._create(self.parts[index])] = self.parts[index].label
        if robot:
            self._add_robot()
        self.active = wanted
        self.rebuilds += 1

    def _sync_robot(self) -> None:
        robot = self._robot[0]
        position, orientation = pybullet.getBasePositionAndOrientation(robot, physicsClientId=self.physics_client)
        pybullet.resetBasePositionAndOrientation(self.robot_copy, position, orientation, physicsClientId=self.client)
        states = pybullet.getJointStates(robot, self._robot_joints, physicsClientId=self.physics_client)
        for joint, state in zip(self._robot_joints, states):
            pybullet.resetJointState(self.robot_copy, joint, state[0], physicsClientId=self.client)

    def prepare(self, view, projection) -> None:
        """Make the renderer hold every part the frame from ``view`` can show, and the robot as it is now."""
        world_to_eye = np.reshape(view, (4, 4)).T
        proj = np.reshape(projection, (4, 4)).T
        needed = self.shadow_parts | (self._visible & ~corners_outside(proj @ world_to_eye, self._corners, far=True))
        robot = self._robot_needed()
        if self.rebuilds == 0 or np.any(needed & ~self.active):
            # look ahead: also what the camera will see from up to lookahead_m further along its view
            forward = -world_to_eye[2, :3]
            wanted = needed.copy()
            for fraction in (0.25, 0.5, 0.75, 1.0):
                moved = np.eye(4)
                moved[:3, 3] = -forward * self.lookahead_m * fraction
                wanted |= self._visible & ~corners_outside(proj @ world_to_eye @ moved, self._corners, far=True)
            self._rebuild(wanted, robot)
        elif robot and self.robot_copy is None:
            self._add_robot()
        elif not robot and self.robot_copy is not None:
            self._remove_robot()
        if self.robot_copy is not None:
            self._sync_robot()


class Camera:
    """Frames from a PyBullet client's software renderer. By default it renders the physics world
    itself (``client``, bodies labelled by ``body_labels``); ``Camera.for_trail`` gives one that
    renders its own ``RenderScene`` of the trail instead (the same frames, at a fraction of the cost)."""

    def __init__(self, client: int, config: CameraConfig, body_labels: dict[int, int], sky_label: int,
                 lighting_seed: int = 0):
        self.client = client
        self.scene: RenderScene | None = None
        self._scene_lookup_for: dict | None = None
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
        self._rows = np.linspace(0.85, 1.05, config.height_px)[:, None, None]
        # the sky's (H, W, 3) colour, brighter towards the horizon: what background pixels show
        self._sky = self.sky_rgb * self._rows * np.ones((1, config.width_px, 1))

    @classmethod
    def for_trail(cls, client: int, config: CameraConfig, ground, sky_label: int, lighting_seed: int = 0,
                  robot_id: int | None = None, robot_urdf: str | None = None, robot_flags: int = 0,
                  keep_robot: bool = False) -> Camera:
        """A camera rendering its own scene of ``ground`` (a built ``TrailGround``) and a copy of
        the robot ``robot_id`` of the physics client ``client`` (loaded from ``robot_urdf``)."""
        camera = cls(client, config, {}, sky_label, lighting_seed)
        camera.scene = RenderScene(ground.visual_parts, ground.texture_paths, camera.light_direction,
                                   camera._projection, client, robot_id, robot_urdf, robot_flags,
                                   keep_robot=keep_robot)
        return camera

    def close(self) -> None:
        if self.scene is not None:
            self.scene.close()

    def render(self, trunk_position: np.ndarray, trunk_quaternion: np.ndarray, time_s: float,
               rgb_only: bool = False) -> CameraFrame:
        """A frame from the camera on a trunk at this pose. ``rgb_only`` leaves depth and labels
        out (``None``): the learned policy's perception estimates both from the RGB image."""
        cfg = self.config
        pose = camera_pose(np.asarray(trunk_position), kin.quaternion_to_rotation(trunk_quaternion), cfg)
        eye = pose[:3, 3]
        forward = pose[:3, 2]
        up = -pose[:3, 1]
        view = pybullet.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), up.tolist())
        client = self.client
        if self.scene is not None:
            self.scene.prepare(view, self._projection)
            client = self.scene.client
        _, _, rgba, depth, seg = pybullet.getCameraImage(
            cfg.width_px, cfg.height_px, view, self._projection,
            renderer=pybullet.ER_TINY_RENDERER, lightDirection=self.light_direction, shadow=1,
            physicsClientId=client,
        )
        rgba = np.reshape(rgba, (cfg.height_px, cfg.width_px, 4))
        seg = np.reshape(seg, (cfg.height_px, cfg.width_px))
        background = seg < 0
        rgb = np.clip(rgba[..., :3] * self.light_gain, 0, 255)
        rgb[background] = self._sky[background]
        if rgb_only:
            return CameraFrame(time_s, rgb.astype(np.uint8), None, None, cfg.intrinsics, pose)
        depth_m = depth_from_buffer(np.reshape(depth, (cfg.height_px, cfg.width_px)), cfg.near_m, cfg.far_m)
        depth_m[background] = np.inf
        return CameraFrame(time_s, rgb.astype(np.uint8), depth_m, self._labels(seg, background), cfg.intrinsics, pose)

    def _labels(self, seg: np.ndarray, background: np.ndarray) -> np.ndarray:
        lookup = self._lookup
        if self.scene is not None:
            if self._scene_lookup_for is not self.scene.labels:
                lookup = np.full(max(self.scene.labels, default=0) + 2, IGNORE_LABEL, dtype=np.uint8)
                for body, label in self.scene.labels.items():
                    lookup[body] = label
                self._scene_lookup, self._scene_lookup_for = lookup, self.scene.labels
            lookup = self._scene_lookup
        seg = seg.astype(np.int64)
        labels = lookup[np.clip(seg, 0, len(lookup) - 1)]
        labels[seg >= len(lookup)] = IGNORE_LABEL
        labels[background] = self.sky_label
        return labels
