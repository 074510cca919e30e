"""`semloco`: the command-line entry point of semantic_locomotion."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path


def _walk(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from locomotion.controller import load_controller_config
    from locomotion.gait import load_gait_presets
    from sim.walk import STAND_S, Push, WalkRequest, run_walk, write_report
    from sim.world import load_sim_config

    gaits = load_gait_presets()
    if args.gait not in gaits:
        print(f"semloco walk: --gait: unknown gait {args.gait!r} (known: {', '.join(sorted(gaits))})",
              file=sys.stderr)
        return 2
    if args.duration <= 0:
        print("semloco walk: --duration: must be positive", file=sys.stderr)
        return 2
    controller_config = load_controller_config(args.controller_config)
    if args.ground_truth_state:
        controller_config = dataclasses.replace(controller_config, use_ground_truth_state=True)
    sim_config = load_sim_config(args.sim_config, gui=args.gui)
    push = Push(args.push_at, (0.0, args.push_force, 0.0), args.push_duration) if args.push_force else None
    request = WalkRequest(args.speed, args.lateral, args.yaw_rate, args.gait, args.duration, args.seed,
                          args.gui, push)
    steps = round((STAND_S + args.duration) * sim_config.physics_rate_hz)
    with tqdm(total=steps, unit="step", desc="walk", disable=args.quiet) as bar:
        report = run_walk(request, controller_config=controller_config, sim_config=sim_config,
                          progress=bar.update)
    if args.json:
        write_report(report, args.json)
    summary = {k: report[k] for k in ("fell", "mean_speed_mps", "speed_error_mps", "yaw_rate_error_radps",
                                       "velocity_estimate_rmse_mps", "real_time_factor", "cost_of_transport")}
    summary["mpc_solve_ms"] = {k: report["mpc_solve_ms"][k] for k in ("p50", "p99")}
    print(json.dumps(summary, indent=2))
    return 1 if report["fell"] else 0


def _dataset(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.dataset import DatasetRequest, make_dataset

    if args.trails < 1 or args.frames_per_trail < 1:
        print("semloco dataset: --trails and --frames-per-trail must be at least 1", file=sys.stderr)
        return 2
    request = DatasetRequest(Path(args.out), args.trails, args.frames_per_trail, args.seed,
                             command="semloco " + " ".join(sys.argv[1:]))
    try:
        with tqdm(total=args.trails * args.frames_per_trail, unit="frame", desc="dataset",
                  disable=args.quiet) as bar:
            card = make_dataset(request, progress=bar.update)
    except FileExistsError as exc:
        print(f"semloco dataset: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "frames": card["frames"],
                      "trails": [{k: t[k] for k in ("name", "frames", "fell")} for t in card["trails"]]}, indent=2))
    return 0


def _montage(args: argparse.Namespace) -> int:
    from sim.montage import make_montage

    print(make_montage(args.out, args.seed))
    return 0


def _train_perception(args: argparse.Namespace) -> int:
    from robot_perception.train import TrainConfig, train

    if not Path(args.data).is_dir():
        print(f"semloco train perception: --data: {args.data} is not a folder", file=sys.stderr)
        return 2
    config = TrainConfig(Path(args.data), Path(args.out), not args.no_previous_mask, args.minutes, args.max_steps,
                         args.batch_size, threads=args.threads, seed=args.seed,
                         command="semloco " + " ".join(sys.argv[1:]))
    try:
        report = train(config, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:
        print(f"semloco train perception: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


def _eval_perception(args: argparse.Namespace) -> int:
    from robot_perception.checkpoint import CheckpointError
    from robot_perception.evaluate import evaluate

    try:
        report = evaluate(args.checkpoint, args.data, backend=args.backend, threads=args.threads)
    except (FileNotFoundError, ValueError, CheckpointError) as exc:
        print(f"semloco eval perception: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.card:
        from robot_perception.model_card import write_model_card

        write_model_card(args.checkpoint, report, args.card, "semloco " + " ".join(sys.argv[1:]))
    summary = {k: v for k, v in report.items() if k != "confusion"}
    print(json.dumps(summary, indent=2))
    return 0


def _melon(args: argparse.Namespace) -> int:
    from robot_perception.melon.train import MelonConfig, MelonRun

    try:
        config = MelonConfig(Path(args.images), Path(args.out), radius=args.radius, fov_deg=args.fov_deg,
                             modulo=args.modulo, steps=args.steps, refine_steps=args.refine_steps, seed=args.seed,
                             threads=args.threads)
        run = MelonRun(config)
    except ValueError as exc:
        print(f"semloco melon: {exc}", file=sys.stderr)
        return 2
    run.run(progress=not args.quiet)
    poses = run.write_outputs()
    print(json.dumps({"out": str(args.out), "images": len(poses), "steps": run.step,
                      "poses": str(Path(args.out) / "poses.json")}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semloco", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    walk = sub.add_parser("walk", help="walk the A1 on flat ground in PyBullet and report tracking")
    walk.add_argument("--speed", type=float, required=True, help="forward speed command, m/s")
    walk.add_argument("--lateral", type=float, default=0.0, help="lateral speed command (left +), m/s")
    walk.add_argument("--yaw-rate", type=float, default=0.0, help="yaw rate command (CCW +), rad/s")
    walk.add_argument("--gait", default="trot", help="gait preset from config/gaits.yaml (default: trot)")
    walk.add_argument("--duration", type=float, default=20.0, help="walking time after standing up, s")
    walk.add_argument("--seed", type=int, default=0, help="seed of the sensor noise")
    walk.add_argument("--gui", action="store_true", help="open the PyBullet window (needs a display)")
    walk.add_argument("--json", help="write the full report to this file")
    walk.add_argument("--ground-truth-state", action="store_true",
                      help="debugging: control from the simulator's state instead of the estimator")
    walk.add_argument("--push-force", type=float, default=0.0, help="lateral push on the trunk, N (0: none)")
    walk.add_argument("--push-at", type=float, default=5.0, help="walking time of the push, s")
    walk.add_argument("--push-duration", type=float, default=0.2, help="push duration, s")
    walk.add_argument("--controller-config", help="controller YAML (default: config/controller.yaml)")
    walk.add_argument("--sim-config", help="simulator YAML (default: config/sim.yaml)")
    walk.add_argument("--quiet", action="store_true", help="no progress bar")
    walk.set_defaults(func=_walk)

    dataset = sub.add_parser("dataset", help="labelled synthetic frames from the robot's camera on generated trails")
    dataset.add_argument("--out", required=True, help="output folder (empty or new)")
    dataset.add_argument("--trails", type=int, default=4, help="number of generated trails")
    dataset.add_argument("--frames-per-trail", type=int, default=40, help="frames captured per trail")
    dataset.add_argument("--seed", type=int, default=0, help="seed of trails, textures, lighting and noise")
    dataset.add_argument("--quiet", action="store_true", help="no progress bar")
    dataset.set_defaults(func=_dataset)

    montage = sub.add_parser("montage", help="one camera frame and label mask per walkable class, as a PNG")
    montage.add_argument("--out", default="docs/terrain_montage.png")
    montage.add_argument("--seed", type=int, default=0)
    montage.set_defaults(func=_montage)

    melon = sub.add_parser("melon", help="infer camera poses and a neural field from unposed images (MELON)")
    melon.add_argument("--images", required=True, help="folder of square PNG/JPEG views of one object")
    melon.add_argument("--out", required=True, help="output folder (poses.json, field.pt, novel_views/)")
    melon.add_argument("--radius", type=float, default=3.0, help="camera distance from the object centre")
    melon.add_argument("--fov-deg", type=float, default=40.0, help="camera field of view, degrees")
    melon.add_argument("--modulo", type=int, default=2, help="N pseudo-symmetric replicas per pose (1, 2, 4)")
    melon.add_argument("--steps", type=int, default=1500, help="MELON stage: encoder + modulo loss")
    melon.add_argument("--refine-steps", type=int, default=6000,
                       help="refinement stage: per-image poses with candidate search, and the field")
    melon.add_argument("--seed", type=int, default=0)
    melon.add_argument("--threads", type=int, default=2)
    melon.add_argument("--quiet", action="store_true")
    melon.set_defaults(func=_melon)

    train = sub.add_parser("train", help="train a model").add_subparsers(dest="what", required=True)
    perception = train.add_parser("perception", help="train TerrainNet (segmentation + embedding + depth)")
    perception.add_argument("--data", required=True, help="a folder made by `semloco dataset`")
    perception.add_argument("--out", default="models/terrain_net.pt", help="checkpoint to write")
    perception.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget")
    perception.add_argument("--max-steps", type=int, default=8000)
    perception.add_argument("--batch-size", type=int, default=16)
    perception.add_argument("--threads", type=int, default=2)
    perception.add_argument("--seed", type=int, default=0)
    perception.add_argument("--no-previous-mask", action="store_true",
                            help="ablation: RGB only, without the previous-mask channel")
    perception.add_argument("--quiet", action="store_true")
    perception.set_defaults(func=_train_perception)

    evaluate = sub.add_parser("eval", help="evaluate a model").add_subparsers(dest="what", required=True)
    perception_eval = evaluate.add_parser("perception", help="IoU, flicker, depth errors and fps of a checkpoint")
    perception_eval.add_argument("--data", required=True, help="a folder made by `semloco dataset` (unseen seeds)")
    perception_eval.add_argument("--checkpoint", default="models/terrain_net.pt")
    perception_eval.add_argument("--backend", choices=("onnx", "torch"), default="onnx")
    perception_eval.add_argument("--threads", type=int, default=2)
    perception_eval.add_argument("--json", help="write the full report (with the confusion matrix) here")
    perception_eval.add_argument("--card", help="write the checkpoint's model card (Markdown) here")
    perception_eval.set_defaults(func=_eval_perception)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from locomotion.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"semloco {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
