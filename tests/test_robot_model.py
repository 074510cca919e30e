"""The robot description agrees with the URDF it names."""

import numpy as np
import pybullet
import pytest

from locomotion.config import ConfigError
from locomotion.robot_model import MOTOR_NAMES, load_robot

ROBOT = load_robot("a1")


def composite_inertia_at_stand_pose():
    """Total mass, centre of mass and inertia about it of all links, trunk frame, standing pose."""
    client = pybullet.connect(pybullet.DIRECT)
    try:
        # floating base: a fixed base reports zero mass for the trunk
        body = pybullet.loadURDF(str(ROBOT.urdf_path), [0, 0, 0], physicsClientId=client)
        names = {pybullet.getJointInfo(body, j, physicsClientId=client)[1].decode(): j
                 for j in range(pybullet.getNumJoints(body, physicsClientId=client))}
        for motor, angle in zip(MOTOR_NAMES, ROBOT.stand_pose):
            pybullet.resetJointState(body, names[ROBOT.urdf_joint_names[motor]], angle, physicsClientId=client)
        com0, _ = pybullet.getBasePositionAndOrientation(body, physicsClientId=client)
        trunk_origin = np.array(com0) - np.array(pybullet.getDynamicsInfo(body, -1, physicsClientId=client)[3])
        links = []
        for link in range(-1, pybullet.getNumJoints(body, physicsClientId=client)):
            info = pybullet.getDynamicsInfo(body, link, physicsClientId=client)
            mass, local_inertia = info[0], np.diag(info[2])
            if link == -1:
                pos, quat = pybullet.getBasePositionAndOrientation(body, physicsClientId=client)
            else:
                state = pybullet.getLinkState(body, link, computeForwardKinematics=True, physicsClientId=client)
                pos, quat = state[0], state[1]
            rot = np.array(pybullet.getMatrixFromQuaternion(quat)).reshape(3, 3)
            links.append((mass, np.array(pos) - trunk_origin, rot @ local_inertia @ rot.T))
    finally:
        pybullet.disconnect(client)
    total = sum(m for m, _, _ in links)
    com = sum(m * p for m, p, _ in links) / total
    inertia = np.zeros((3, 3))
    for m, p, i_local in links:
        r = p - com
        inertia += i_local + m * (r @ r * np.eye(3) - np.outer(r, r))
    return total, com, inertia


def test_mass_and_inertia_match_urdf():
    mass, com, inertia = composite_inertia_at_stand_pose()
    assert ROBOT.mass_kg == pytest.approx(mass, rel=1e-3)
    # the MPC's inertia is a modelling choice: at most the all-links composite, and well above
    # the trunk + hips composite (diag 0.030, 0.129, 0.143) that is rigid with the trunk
    assert np.all(np.diag(ROBOT.inertia) <= np.diag(inertia) + 1e-9)
    assert np.all(np.diag(ROBOT.inertia) >= 0.5 * np.diag(inertia))
    np.testing.assert_allclose(ROBOT.com_offset_m, com, atol=0.001)


def test_joint_limits_come_from_urdf():
    lower, upper = ROBOT.joint_limits
    assert lower.shape == (12,)
    assert lower[2] == pytest.approx(-2.69653369433) and upper[1] == pytest.approx(4.18879020479)
    assert np.all(lower < ROBOT.stand_pose) and np.all(ROBOT.stand_pose < upper)


def test_unitree_order():
    assert MOTOR_NAMES[:4] == ("FR_hip", "FR_thigh", "FR_calf", "FL_hip")
    assert ROBOT.leg_sides.tolist() == [-1, 1, -1, 1]


def test_bad_robot_file_names_the_field(tmp_path):
    from locomotion.config import config_dir

    good = (config_dir() / "robot_a1.yaml").read_text()
    bad = tmp_path / "robot_bad.yaml"
    bad.write_text(good.replace("thigh_length_m: 0.2", "thigh_length_m: long"))
    with pytest.raises(ConfigError, match="thigh_length_m"):
        load_robot(str(bad))
    bad.write_text(good.replace("legs: [FR, FL, RR, RL]", "legs: [FL, FR, RR, RL]"))
    with pytest.raises(ConfigError, match="legs"):
        load_robot(str(bad))
    bad.write_text(good + "\nwheel_radius_m: 0.1\n")
    with pytest.raises(ConfigError, match="wheel_radius_m: unknown field"):
        load_robot(str(bad))
