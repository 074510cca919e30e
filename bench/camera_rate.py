"""Onboard camera rendering rate at the default resolution (config/camera.yaml).

Builds the `demo` trail with the A1 standing on it and renders RGB + depth + labels from poses
along the trail (headless software renderer, one core). Prints frames per second, the figure to
compare with the camera's configured rate.

    python bench/camera_rate.py [--frames 200] [--trail demo]
"""

import argparse
import time

import numpy as np

from locomotion.robot_model import load_robot
from sim.camera import Camera, load_camera_config
from sim.terrain import load_terrain_catalogue
from sim.trail import load_trail
from sim.trail_world import TrailGround
from sim.world import SimWorld, load_sim_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--trail", default="demo")
    args = parser.parse_args()
    config = load_camera_config()
    trail = load_trail(args.trail)
    ground = TrailGround(trail)
    with SimWorld(load_robot(), load_sim_config(), ground=ground, spawn_xy=(0.5, 0.0)) as world:
        camera = Camera(world.client, config, ground.body_labels, load_terrain_catalogue().label_id("sky"))
        truth = world.ground_truth()
        xs = np.linspace(0.5, trail.length_m - 1.0, args.frames)
        camera.render(truth.position, truth.orientation_xyzw, 0.0)  # warm-up
        start = time.perf_counter()
        for x in xs:
            position = np.array([x, 0.0, ground.height_at(x) + 0.29])
            camera.render(position, np.array([0.0, 0.0, 0.0, 1.0]), 0.0)
        elapsed = time.perf_counter() - start
    ground.close()
    fps = args.frames / elapsed
    print(f"camera {config.width_px}x{config.height_px} (RGB + depth + labels), trail {args.trail}: "
          f"{fps:.1f} frames/s ({1e3 / fps:.1f} ms/frame) over {args.frames} frames; "
          f"configured rate {config.rate_hz:.0f} Hz: {'met' if fps >= config.rate_hz else 'NOT met'}")


if __name__ == "__main__":
    main()
