"""The camera's own render scene (sim.camera.RenderScene) gives the physics world's frames, pixel for pixel."""

import numpy as np
import pybullet
import pytest

from locomotion.robot_model import load_robot
from sim.camera import IGNORE_LABEL, Camera, load_camera_config
from sim.trail import load_trail
from sim.trail_run import TrailRunRequest, run_trail
from sim.terrain import load_terrain_catalogue
from sim.trail import Trail, TrailObstacle, TrailSegment
from sim.trail_world import TrailGround
from sim.world import SimWorld, load_sim_config

CATALOGUE = load_terrain_catalogue()
CONFIG = load_camera_config()
# a bumpy first segment (its invisible heightfield reaches the shadow map), a slope, a boulder,
# and a trail longer than the camera's far range so that the scene leaves parts out
TRAIL = Trail("scene", 7, (TrailSegment("gravel", 8.0), TrailSegment("deep_grass", 6.0, 3.0),
                           TrailSegment("asphalt", 30.0), TrailSegment("sand", 6.0)),
              obstacles=(TrailObstacle(at_m=24.0, lateral_m=0.3),))


@pytest.fixture(scope="module")
def world():
    ground = TrailGround(TRAIL)
    robot = load_robot("a1")
    with SimWorld(robot, load_sim_config(), ground=ground, spawn_xy=(0.3, 0.0)) as w:
        yield w, ground, robot
    ground.close()


@pytest.mark.parametrize("lighting_seed", [0, 3])
def test_render_scene_frames_equal_the_physics_worlds(world, lighting_seed):
    w, ground, robot = world
    sky = CATALOGUE.label_id("sky")
    physics = Camera(w.client, CONFIG, ground.body_labels, sky, lighting_seed=lighting_seed)
    scene_camera = Camera.for_trail(w.client, CONFIG, ground, sky, lighting_seed=lighting_seed, robot_id=w.robot_id,
                                    robot_urdf=str(robot.urdf_path),
                                    robot_flags=pybullet.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT, keep_robot=True)
    scene = scene_camera.scene
    rng = np.random.default_rng(lighting_seed)
    joints = w.motor_ids
    left_out = []
    try:
        # the robot along the trail (teleported, legs moved; the scene keeps it): the camera on its trunk
        for x in [0.3, 1.0, 2.5, 4.0, 7.0, 9.5, 13.0, 18.0, 23.0, 30.0, 38.0, 45.0]:
            position = np.array([x, rng.uniform(-0.4, 0.4), ground.height_at(x) + 0.3 + rng.uniform(-0.03, 0.03)])
            orientation = pybullet.getQuaternionFromEuler([rng.uniform(-0.05, 0.05), rng.uniform(-0.08, 0.08),
                                                           rng.uniform(-0.3, 0.3)])
            pybullet.resetBasePositionAndOrientation(w.robot_id, position, orientation, physicsClientId=w.client)
            for joint, angle in zip(joints, robot.lie_pose + rng.uniform(-0.05, 0.05, 12)):
                pybullet.resetJointState(w.robot_id, joint, angle, physicsClientId=w.client)
            truth = w.ground_truth()
            old = physics.render(truth.position, truth.orientation_xyzw, 0.0)
            new = scene_camera.render(truth.position, truth.orientation_xyzw, 0.0)
            rgb_only = scene_camera.render(truth.position, truth.orientation_xyzw, 0.0, rgb_only=True)
            assert np.array_equal(old.rgb, new.rgb), (f"x={x}: {np.count_nonzero(np.any(old.rgb != new.rgb, 2))} px, "
                                                      f"robot px {np.count_nonzero(old.labels == 255)}, "
                                                      f"copy {scene.robot_copy}")
            assert np.array_equal(old.labels, new.labels), f"x={x}"
            assert np.array_equal(old.depth_m, new.depth_m), f"x={x}"
            assert np.array_equal(old.rgb, rgb_only.rgb) and rgb_only.labels is None and rgb_only.depth_m is None
            left_out.append(int((~scene.active).sum()))
    finally:
        scene_camera.close()
    # the comparison is not vacuous: the scene left parts out
    assert min(left_out) > 0.2 * len(ground.visual_parts)
    assert scene.shadow_parts.any() and scene.rebuilds >= 1


def test_walking_trail_frames_equal_the_physics_worlds():
    """The learned policy's own frames (robot left out once it is past the shadow map's reach)
    equal the physics world's while walking; the walking robot is never in its own view."""
    sky = CATALOGUE.label_id("sky")
    seen = {"frames": 0, "without_robot": 0}

    def compare(t, truth, source):
        camera = source.camera
        if "physics" not in seen:
            seen["physics"] = Camera(camera.client, CONFIG, source.ground.body_labels, sky, lighting_seed=0)
        old = seen["physics"].render(truth.position, truth.orientation_xyzw, 0.0)
        new = camera.render(truth.position, truth.orientation_xyzw, 0.0)
        assert not np.any(old.labels == IGNORE_LABEL)
        assert np.array_equal(old.rgb, new.rgb) and np.array_equal(old.labels, new.labels), f"t={t:.1f}"
        seen["frames"] += 1
        seen["without_robot"] += int(camera.scene.robot_copy is None)

    run_trail(TrailRunRequest(load_trail("short"), "learned", 0, time_limit_s=12.0), on_decision=compare)
    assert seen["frames"] >= 50 and seen["without_robot"] >= 10, seen
