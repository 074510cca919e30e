"""Closed-form kinematics against PyBullet's own forward kinematics and Jacobians."""

import numpy as np
import pybullet
import pytest

from locomotion import kinematics as kin
from locomotion.robot_model import LEG_NAMES, MOTOR_NAMES, load_robot

ROBOT = load_robot("a1")
GEOM = (ROBOT.abduction_link_m, ROBOT.thigh_length_m, ROBOT.calf_length_m)


@pytest.fixture(scope="module")
def bullet_a1():
    client = pybullet.connect(pybullet.DIRECT)
    body = pybullet.loadURDF(str(ROBOT.urdf_path), [0, 0, 0], useFixedBase=True, physicsClientId=client)
    names = {pybullet.getJointInfo(body, j, physicsClientId=client)[1].decode(): j
             for j in range(pybullet.getNumJoints(body, physicsClientId=client))}
    links = {pybullet.getJointInfo(body, j, physicsClientId=client)[12].decode(): j
             for j in range(pybullet.getNumJoints(body, physicsClientId=client))}
    motor_ids = [names[ROBOT.urdf_joint_names[m]] for m in MOTOR_NAMES]
    foot_ids = [links[ROBOT.foot_links[leg]] for leg in LEG_NAMES]
    yield client, body, motor_ids, foot_ids
    pybullet.disconnect(client)


def random_joint_angles(rng):
    lower, upper = ROBOT.joint_limits
    upper = np.minimum(upper, 2.5)  # stay in the leg's useful range
    return rng.uniform(lower, upper).reshape(4, 3)


def trunk_frame(client, body):
    """Pose of the URDF trunk frame (PyBullet reports the base's inertial frame)."""
    com, quat = pybullet.getBasePositionAndOrientation(body, physicsClientId=client)
    rot = np.array(pybullet.getMatrixFromQuaternion(quat)).reshape(3, 3)
    local = np.array(pybullet.getDynamicsInfo(body, -1, physicsClientId=client)[3])
    return np.array(com) - rot @ local, rot


def set_joints(client, body, motor_ids, q):
    for j, angle in zip(motor_ids, q.ravel()):
        pybullet.resetJointState(body, j, angle, 0.0, physicsClientId=client)


def test_forward_kinematics_matches_pybullet(bullet_a1):
    client, body, motor_ids, foot_ids = bullet_a1
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = random_joint_angles(rng)
        set_joints(client, body, motor_ids, q)
        origin, rot = trunk_frame(client, body)
        ours = kin.foot_positions_in_base_frame(q, ROBOT.hip_offsets, ROBOT.leg_sides, *GEOM)
        for leg, link in enumerate(foot_ids):
            world = np.array(pybullet.getLinkState(body, link, computeForwardKinematics=True,
                                                   physicsClientId=client)[4])
            np.testing.assert_allclose(ours[leg], rot.T @ (world - origin), atol=1e-6)


def test_jacobian_matches_pybullet(bullet_a1):
    client, body, motor_ids, foot_ids = bullet_a1
    rng = np.random.default_rng(1)
    for _ in range(30):
        q = random_joint_angles(rng)
        set_joints(client, body, motor_ids, q)
        ours = kin.leg_jacobians(q, ROBOT.leg_sides, *GEOM)
        all_q = [pybullet.getJointState(body, j, physicsClientId=client)[0]
                 for j in range(pybullet.getNumJoints(body, physicsClientId=client))
                 if pybullet.getJointInfo(body, j, physicsClientId=client)[2] != pybullet.JOINT_FIXED]
        movable = [j for j in range(pybullet.getNumJoints(body, physicsClientId=client))
                   if pybullet.getJointInfo(body, j, physicsClientId=client)[2] != pybullet.JOINT_FIXED]
        zeros = [0.0] * len(all_q)
        for leg, link in enumerate(foot_ids):
            lin, _ = pybullet.calculateJacobian(body, link, [0, 0, 0], all_q, zeros, zeros,
                                                physicsClientId=client)
            lin = np.array(lin)
            cols = [movable.index(j) for j in motor_ids[3 * leg: 3 * leg + 3]]
            np.testing.assert_allclose(ours[leg], lin[:, cols], atol=1e-6)


def test_jacobian_matches_finite_differences():
    rng = np.random.default_rng(2)
    q = random_joint_angles(rng)
    jac = kin.leg_jacobians(q, ROBOT.leg_sides, *GEOM)
    eps = 1e-6
    for j in range(3):
        dq = np.zeros_like(q)
        dq[:, j] = eps
        plus = kin.foot_positions_in_hip_frame(q + dq, ROBOT.leg_sides, *GEOM)
        minus = kin.foot_positions_in_hip_frame(q - dq, ROBOT.leg_sides, *GEOM)
        np.testing.assert_allclose(jac[:, :, j], (plus - minus) / (2 * eps), atol=1e-6)


def test_inverse_kinematics_round_trip():
    rng = np.random.default_rng(3)
    for _ in range(200):
        q = rng.uniform([-0.6, -0.5, -2.6], [0.6, 2.0, -0.95], size=(4, 3))
        # the foot's z' in the thigh plane, before the hip roll
        z_plane = -ROBOT.thigh_length_m * np.cos(q[:, 1]) - ROBOT.calf_length_m * np.cos(q[:, 1] + q[:, 2])
        if np.any(z_plane > -0.02):
            continue  # IK serves the walking workspace: foot below the thigh joint
        p = kin.foot_positions_in_hip_frame(q, ROBOT.leg_sides, *GEOM)
        q_back = kin.inverse_kinematics(p, ROBOT.leg_sides, *GEOM)
        np.testing.assert_allclose(q_back, q, atol=1e-7)


def test_inverse_kinematics_out_of_reach_is_finite():
    p = np.tile([0.0, 0.0, -1.0], (4, 1))
    q = kin.inverse_kinematics(p, ROBOT.leg_sides, *GEOM)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q[:, 2], 0.0, atol=1e-6)  # fully stretched


def test_rotation_helpers_round_trip():
    rng = np.random.default_rng(4)
    for _ in range(50):
        rpy = rng.uniform([-1, -1.2, -3], [1, 1.2, 3])
        quat = kin.rpy_to_quaternion(rpy)
        rot = kin.quaternion_to_rotation(quat)
        ref = np.array(pybullet.getMatrixFromQuaternion(pybullet.getQuaternionFromEuler(rpy))).reshape(3, 3)
        np.testing.assert_allclose(rot, ref, atol=1e-9)
        np.testing.assert_allclose(kin.rotation_to_rpy(rot), rpy, atol=1e-9)
