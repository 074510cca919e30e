"""A PyBullet world with the A1: headless by default, physics at >= 500 Hz, torque-controlled motors.

The robot spawns lying on its belly with folded legs; the controller stands it up. The world
returns sensor readings as the A1's low-level interface would (joint encoders, IMU, foot contact
switches) and, separately, the exact trunk state as ground truth for evaluation.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pybullet
import pybullet_data

from locomotion.config import config_dir, load_dataclass
from locomotion.robot_model import LEG_NAMES, MOTOR_NAMES, RobotDescription
from locomotion.robot_state import GroundTruth, SensorReadings
from sim.ground import FlatGround, Ground


@dataclasses.dataclass(frozen=True)
class SimConfig:
    physics_rate_hz: float = 500.0
    ground_lateral_friction: float = 1.0
    foot_lateral_friction: float = 1.0
    contact_threshold_n: float = 3.0  # a foot switch reads "contact" above this normal force
    gyro_noise_std_radps: float = 0.0
    accelerometer_noise_std_mps2: float = 0.0
    joint_velocity_noise_std_radps: float = 0.0
    gui: bool = False

    def __post_init__(self) -> None:
        if self.physics_rate_hz < 500.0:
            raise ValueError(f"physics_rate_hz: must be >= 500, got {self.physics_rate_hz}")


def load_sim_config(path: str | Path | None = None, **overrides) -> SimConfig:
    config = load_dataclass(SimConfig, path or config_dir() / "sim.yaml")
    return dataclasses.replace(config, **overrides) if overrides else config


class SimWorld:
    def __init__(
        self,
        robot: RobotDescription,
        config: SimConfig | None = None,
        seed: int = 0,
        ground: Ground | None = None,
        spawn_xy: tuple[float, float] = (0.0, 0.0),
    ):
        self.robot = robot
        self.config = config or SimConfig()
        self.ground = ground or FlatGround(self.config.ground_lateral_friction)
        self.spawn_xy = spawn_xy
        self.rng = np.random.default_rng(seed)
        self.noise = SensorNoise(self.rng, self.config.gyro_noise_std_radps, self.config.accelerometer_noise_std_mps2,
                                 self.config.joint_velocity_noise_std_radps)
        self.dt = 1.0 / self.config.physics_rate_hz
        mode = pybullet.GUI if self.config.gui else pybullet.DIRECT
        self.client = pybullet.connect(mode)
        if self.client < 0:
            raise RuntimeError("could not connect to PyBullet" + (" (GUI needs a display)" if self.config.gui else ""))
        self._p = BoundClient(self.client)
        self._build()

    # --- construction ----------------------------------------------------------------------------
    def _build(self) -> None:
        p = self._p
        p.resetSimulation()
        p.setAdditionalSearchPath(pybullet_data.getDataPath())
        p.setGravity(0, 0, -9.81)
        p.setTimeStep(self.dt)
        p.setPhysicsEngineParameter(numSolverIterations=30)
        self.ground.build(p)
        self.time_s = 0.0
        x, y = self.spawn_xy
        # lying parallel to the ground under it (a trail may start on a slope): pitched by the
        # slope along x, at the spawn height above the ground along its normal
        rise = (self.ground.height_at(x + 0.1, y) - self.ground.height_at(x - 0.1, y)) / 0.2
        pitch = -math.atan(rise)
        self.robot_id = p.loadURDF(
            str(self.robot.urdf_path),
            [x, y, self.ground.height_at(x, y) + self.robot.spawn_height_m / math.cos(pitch)],
            pybullet.getQuaternionFromEuler([0.0, pitch, 0.0]),
            flags=pybullet.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT,
        )
        joints = {p.getJointInfo(self.robot_id, j)[1].decode(): j for j in range(p.getNumJoints(self.robot_id))}
        links = {p.getJointInfo(self.robot_id, j)[12].decode(): j for j in range(p.getNumJoints(self.robot_id))}
        self.motor_ids = [joints[self.robot.urdf_joint_names[m]] for m in MOTOR_NAMES]
        self.foot_ids = [links[self.robot.foot_links[leg]] for leg in LEG_NAMES]
        self.base_inertial_offset = np.array(p.getDynamicsInfo(self.robot_id, -1)[3])
        for j, angle in zip(self.motor_ids, self.robot.lie_pose):
            p.resetJointState(self.robot_id, j, angle, 0.0)
        # disable the default velocity motors so the joints are driven by torque only
        p.setJointMotorControlArray(self.robot_id, self.motor_ids, pybullet.VELOCITY_CONTROL,
                                    forces=[0.0] * len(self.motor_ids))
        for link in self.foot_ids:
            p.changeDynamics(self.robot_id, link, lateralFriction=self.config.foot_lateral_friction)
        self._foot_index = {link: leg for leg, link in enumerate(self.foot_ids)}
        self._state: RobotSnapshot | None = None
        self._prev_velocity = np.zeros(3)
        self._external_force: tuple[np.ndarray, float] | None = None
        self.last_torques = np.zeros(12)
        self.mechanical_energy_j = 0.0  # integral of sum |tau * dq|
        # settle onto the ground so the first reading is physical
        for _ in range(int(0.3 / self.dt)):
            p.stepSimulation()
        self._state = None

    def reset(self) -> None:
        self._build()

    def close(self) -> None:
        if self.client >= 0:
            pybullet.disconnect(self.client)
            self.client = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- stepping --------------------------------------------------------------------------------
    # One physics step reads the robot's state from PyBullet once (joints, base, contacts); the
    # sensor readings and the ground truth of that step are built from this snapshot, however often
    # they are asked for.
    def push(self, force_world: np.ndarray, duration_s: float) -> None:
        """Apply ``force_world`` (N) at the trunk's centre of mass for ``duration_s`` from now."""
        self._external_force = (np.asarray(force_world, dtype=float), self.time_s + duration_s)

    def step(self, torques: np.ndarray) -> None:
        client, robot = self.client, self.robot_id
        torques = np.asarray(torques, dtype=float)
        if torques.shape != (12,) or (not math.isfinite(float(torques.sum())) and not np.isfinite(torques).all()):
            raise ValueError(f"torques: need 12 finite values, got {torques}")
        limit = self.robot.torque_limit_nm
        torques = np.minimum(np.maximum(torques, -limit), limit)  # the motor driver's own saturation
        self._prev_velocity = self._snapshot().base_linear_velocity
        pybullet.setJointMotorControlArray(robot, self.motor_ids, pybullet.TORQUE_CONTROL, forces=torques.tolist(),
                                           physicsClientId=client)
        if self._external_force is not None:
            force, until = self._external_force
            if self.time_s < until:
                com = pybullet.getBasePositionAndOrientation(robot, physicsClientId=client)[0]
                pybullet.applyExternalForce(robot, -1, force, com, pybullet.WORLD_FRAME, physicsClientId=client)
            else:
                self._external_force = None
        if self.ground.has_foot_forces and self.ground.feet_may_drag(float(self._snapshot().base_com_position[0])):
            self._apply_foot_forces()
        pybullet.stepSimulation(physicsClientId=client)
        self.time_s += self.dt
        self.last_torques = torques
        self._state = None
        self.mechanical_energy_j += float(np.abs(torques * self._snapshot().joint_velocities).sum()) * self.dt

    def _apply_foot_forces(self) -> None:
        """The ground's forces on the feet (``Ground.foot_forces``: drag layers) for the next step,
        at the feet's positions; a foot with no force gets none applied."""
        client, robot = self.client, self.robot_id
        states = pybullet.getLinkStates(robot, self.foot_ids, computeLinkVelocity=1, physicsClientId=client)
        positions = np.array([st[0] for st in states])
        velocities = np.array([st[6] for st in states])
        forces = self.ground.foot_forces(positions, velocities).tolist()
        for link, state, force in zip(self.foot_ids, states, forces):
            if force[0] or force[1] or force[2]:
                pybullet.applyExternalForce(robot, link, force, state[0], pybullet.WORLD_FRAME, physicsClientId=client)

    def _snapshot(self) -> RobotSnapshot:
        """The robot's state after the last physics step (read from PyBullet once per step)."""
        if self._state is None:
            self._state = read_snapshot(self.client, self.robot_id, self.motor_ids, self._foot_index)
        return self._state

    # --- sensing ---------------------------------------------------------------------------------
    def foot_contacts(self) -> np.ndarray:
        return self._snapshot().foot_normal_forces > self.config.contact_threshold_n

    def ground_truth(self) -> GroundTruth:
        """The trunk's exact state after the last step (fresh arrays on every call)."""
        snap = self._snapshot()
        if snap.trunk_truth is None:
            offset_world = snap.base_rotation @ self.base_inertial_offset
            ang = snap.base_angular_velocity
            snap.trunk_truth = GroundTruth(
                position=snap.base_com_position - offset_world,
                orientation_xyzw=snap.base_orientation_xyzw,
                linear_velocity=snap.base_linear_velocity - cross3(ang, offset_world),
                angular_velocity=ang,
            )
        truth = snap.trunk_truth
        return GroundTruth(truth.position.copy(), truth.orientation_xyzw.copy(), truth.linear_velocity.copy(),
                           truth.angular_velocity.copy())

    def sensors(self) -> SensorReadings:
        snap = self._snapshot()
        rot_t = snap.base_rotation.T
        accel_world = (snap.base_linear_velocity - self._prev_velocity) / self.dt
        accel_world[2] += 9.81
        gyro = rot_t @ snap.base_angular_velocity
        accel = rot_t @ accel_world
        dq = snap.joint_velocities.copy()
        if self.noise.active:
            gyro, accel, dq = self.noise.add(gyro, accel, dq)
        return SensorReadings(
            time_s=self.time_s,
            joint_positions=snap.joint_positions.copy(),
            joint_velocities=dq,
            imu_orientation_xyzw=snap.base_orientation_xyzw.copy(),
            imu_angular_velocity=gyro,
            imu_linear_acceleration=accel,
            foot_contact=self.foot_contacts(),
        )


class SensorNoise:
    """White Gaussian noise on the gyro (3), accelerometer (3) and joint velocities (12), drawn from
    ``rng`` in blocks of many readings. A reading takes the same numbers, in the same order, as
    drawing its gyro, accelerometer and joint-velocity noise one call at a time would: a generator's
    normals are a stream, and a block is that stream cut into rows."""

    BLOCK = 512

    def __init__(self, rng: np.random.Generator, gyro_std: float, accel_std: float, joint_velocity_std: float):
        self.rng = rng
        parts = [(name, size, std) for name, size, std in
                 (("gyro", 3, gyro_std), ("accel", 3, accel_std), ("dq", 12, joint_velocity_std)) if std > 0]
        self.slices, start = {}, 0
        for name, size, _ in parts:
            self.slices[name] = slice(start, start + size)
            start += size
        self.row_size = start
        self.scale = np.concatenate([np.full(size, std) for _, size, std in parts]) if parts else np.zeros(0)
        self.active = start > 0
        self._block, self._row = np.zeros((0, start)), 0

    def add(self, gyro: np.ndarray, accel: np.ndarray, dq: np.ndarray):
        if self._row == len(self._block):
            self._block = self.rng.standard_normal((self.BLOCK, self.row_size)) * self.scale
            self._row = 0
        row = self._block[self._row]
        self._row += 1
        s = self.slices
        if "gyro" in s:
            gyro = gyro + row[s["gyro"]]
        if "accel" in s:
            accel = accel + row[s["accel"]]
        if "dq" in s:
            dq = dq + row[s["dq"]]
        return gyro, accel, dq


@dataclasses.dataclass
class RobotSnapshot:
    """What PyBullet says about the robot after one physics step (world frame, base = its inertial frame)."""

    joint_positions: np.ndarray  # (12,) Unitree order
    joint_velocities: np.ndarray  # (12,)
    base_com_position: np.ndarray  # (3,)
    base_orientation_xyzw: np.ndarray  # (4,)
    base_rotation: np.ndarray  # (3, 3)
    base_linear_velocity: np.ndarray  # (3,)
    base_angular_velocity: np.ndarray  # (3,)
    foot_normal_forces: np.ndarray  # (4,) summed contact normal force on each foot link
    trunk_truth: GroundTruth | None = None  # the URDF trunk frame's state, computed on first request


def read_snapshot(client: int, robot: int, motor_ids: list[int], foot_index: dict[int, int]) -> RobotSnapshot:
    joints = pybullet.getJointStates(robot, motor_ids, physicsClientId=client)
    com, quat = pybullet.getBasePositionAndOrientation(robot, physicsClientId=client)
    lin, ang = pybullet.getBaseVelocity(robot, physicsClientId=client)
    forces = [0.0, 0.0, 0.0, 0.0]
    for contact in pybullet.getContactPoints(bodyA=robot, physicsClientId=client):
        leg = foot_index.get(contact[3])
        if leg is not None:
            forces[leg] += contact[9]
    base = np.array(com + quat + lin + ang)  # one array; the snapshot's base fields are views of it
    return RobotSnapshot(
        joint_positions=np.array([j[0] for j in joints]),
        joint_velocities=np.array([j[1] for j in joints]),
        base_com_position=base[0:3],
        base_orientation_xyzw=base[3:7],
        base_rotation=np.array(pybullet.getMatrixFromQuaternion(quat)).reshape(3, 3),
        base_linear_velocity=base[7:10],
        base_angular_velocity=base[10:13],
        foot_normal_forces=np.array(forces),
    )


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b for two 3-vectors (np.cross costs ~30 us a call on 3-vectors; this ~2 us)."""
    (a0, a1, a2), (b0, b1, b2) = a.tolist(), b.tolist()
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


class BoundClient:
    """pybullet functions with this world's physicsClientId filled in."""

    def __init__(self, client: int):
        self.client = client

    def __getattr__(self, name):
        fn = getattr(pybullet, name)

        def bound(*args, **kwargs):
            kwargs.setdefault("physicsClientId", self.client)
            return fn(*args, **kwargs)

        return bound
