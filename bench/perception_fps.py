"""Terrain perception throughput at the default camera resolution on this machine (2 CPU cores).

TerrainNet computes segmentation, embedding and depth in one pass. Prints frames per second for:
  - one pass per frame (segmentation + depth together, as `semloco trail` uses it),
  - two passes per frame (what the separate segmentation and depth ROS nodes cost together),
for the onnxruntime and PyTorch backends. Target: >= 20 frames/s for segmentation + depth.

    python bench/perception_fps.py [--checkpoint models/terrain_net.pt] [--frames 300]
"""

import argparse
import time

import numpy as np

from robot_perception.inference import TerrainPerception


def rate(perception, images, passes):
    for image in images[:10]:
        perception.process(image)
    start = time.perf_counter()
    for image in images:
        for _ in range(passes):
            perception.process(image)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="models/terrain_net.pt")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for backend in ("onnx", "torch"):
        perception = TerrainPerception(args.checkpoint, backend=backend, threads=args.threads)
        h, w = perception.height, perception.width
        images = rng.integers(0, 255, (args.frames, h, w, 3), dtype=np.uint8)
        one = rate(perception, images, 1)
        two = rate(perception, images, 2)
        print(f"{backend:5s} {w}x{h}, {args.threads} threads: one pass (seg + depth) {one:6.1f} frames/s; "
              f"two passes (segmentation node + depth node) {two:6.1f} frames/s; target 20: "
              f"{'met' if min(one, two) >= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
