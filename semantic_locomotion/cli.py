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

    if args.trails < 1 or args.frames_per_trail < 1 or args.burst_frames < 1:
        print("semloco dataset: --trails, --frames-per-trail and --burst-frames must be at least 1", file=sys.stderr)
        return 2
    request = DatasetRequest(Path(args.out), args.trails, args.frames_per_trail, args.seed,
                             command="semloco " + " ".join(sys.argv[1:]), boulders=args.boulders,
                             burst_frames=args.burst_frames, max_slope_deg=args.max_slope_deg)
    if args.ray:
        from semantic_locomotion.sweep import make_dataset_on_ray as make_dataset
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

    for folder in args.data:
        if not Path(folder).is_dir():
            print(f"semloco train perception: --data: {folder} is not a folder", file=sys.stderr)
            return 2
    data = tuple(Path(f) for f in args.data)
    config = TrainConfig(data if len(data) > 1 else data[0], Path(args.out), not args.no_previous_mask, args.minutes,
                         args.max_steps, args.batch_size, learning_rate=args.learning_rate, threads=args.threads,
                         seed=args.seed, command="semloco " + " ".join(sys.argv[1:]),
                         init=Path(args.init) if args.init else None, own_prior_share=args.own_prior_share,
                         appearance=args.appearance)
    try:
        report = train(config, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:
        print(f"semloco train perception: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


def write_json(path: str | Path, data: dict) -> None:
    """``data`` as indented JSON at ``path``, making its folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


def _eval_perception(args: argparse.Namespace) -> int:
    from robot_perception.checkpoint import CheckpointError
    from robot_perception.evaluate import evaluate

    try:
        report = evaluate(args.checkpoint, args.data, backend=args.backend, threads=args.threads)
    except (FileNotFoundError, ValueError, CheckpointError) as exc:
        print(f"semloco eval perception: {exc}", file=sys.stderr)
        return 2
    if args.json:
        write_json(args.json, report)
    if args.card:
        from robot_perception.model_card import write_model_card

        write_model_card(args.checkpoint, report, args.card, "semloco " + " ".join(sys.argv[1:]))
    summary = {k: v for k, v in report.items() if k != "confusion"}
    print(json.dumps(summary, indent=2))
    return 0


def _eval_speed(args: argparse.Namespace) -> int:
    from locomotion.speed_policy import SpeedPolicyError, load_speed_policy
    from locomotion.speed_training import evaluate_speed_policy
    from semantic_locomotion.demos import DemoPairs

    try:
        net, header = load_speed_policy(args.model)
        report = {"model": str(args.model), "demos": str(args.demos),
                  **evaluate_speed_policy(net, DemoPairs.load(args.demos), header["perception_sha256"],
                                          tuple(header.get("inputs", ["semantic"])))}
    except (FileNotFoundError, ValueError, SpeedPolicyError) as exc:
        print(f"semloco eval speed: {exc}", file=sys.stderr)
        return 2
    if args.json:
        write_json(args.json, report)
    print(json.dumps({k: v for k, v in report.items() if k not in ("per_episode", "bags")}, indent=2))
    return 0


def _trail(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.trail import load_trail
    from sim.trail_report import plot_run, write_samples
    from sim.trail_run import TrailRunRequest, run_trail

    trail = load_trail(args.trail)
    request = TrailRunRequest(trail, args.policy, args.seed, args.gui,
                              Path(args.perception_model) if args.perception_model else None,
                              Path(args.speed_model) if args.speed_model else None)
    with tqdm(total=round(trail.length_m), unit="m", desc=f"{args.policy} on {trail.name}", disable=args.quiet) as bar:
        def progress(x: float) -> None:
            bar.update(max(0, min(round(x), bar.total) - bar.n))

        report, samples = run_trail(request, progress=progress)
    if args.json:
        write_json(args.json, report)
    if args.report:
        folder = Path(args.report)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{trail.name}_{args.policy}_seed{args.seed}"
        (folder / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
        write_samples(samples, folder / f"{stem}.samples.json")
        plot_run(report, samples, trail, folder / f"{stem}.png")
    keys = ("trail", "policy", "seed", "completed", "falls", "end_reason", "distance_m", "duration_s",
            "avg_speed_mps", "cost_of_transport", "real_time_factor")
    summary = {k: report[k] for k in keys}
    summary["per_terrain_mean_speed_mps"] = {t: round(r["mean_speed_mps"], 3) for t, r in report["per_terrain"].items()}
    print(json.dumps(summary, indent=2))
    return 0 if report["completed"] else 1


def _demonstrate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.demo_recording import record_demonstrations

    if args.ray:
        from semantic_locomotion.sweep import record_demonstrations_on_ray as record_demonstrations
    if args.minutes <= 0:
        print("semloco demonstrate: --minutes: must be positive", file=sys.stderr)
        return 2
    card_path = Path(args.out) / "demonstrations.json"
    episodes = json.loads(card_path.read_text())["episodes"] if card_path.is_file() else []
    done_s = sum(e["walking_time_s"] for e in episodes)
    total_s = round(args.minutes * 60)
    with tqdm(total=total_s, initial=min(round(done_s), total_s), unit="s", desc="demonstrations (walking time)",
              disable=args.quiet) as bar:
        def progress(result) -> None:
            bar.update(min(round(result.walking_time_s), bar.total - bar.n))

        card = record_demonstrations(Path(args.out), args.minutes, args.seed, progress=progress)
    print(json.dumps({"out": args.out, "episodes": len(card["episodes"]),
                      "walking_minutes": round(card["walking_minutes"], 2),
                      "falls": sum(e["fell"] for e in card["episodes"])}, indent=2))
    return 0


def _demos(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from semantic_locomotion.bag import BagError
    from semantic_locomotion.demos import PAIRS_FILE, demos_to_pairs

    out = Path(args.out) if args.out else Path(args.folder) / PAIRS_FILE
    try:
        with tqdm(unit="frame", desc="demos -> pairs", disable=args.quiet) as bar:
            pairs = demos_to_pairs(args.folder, args.perception_model, keep_images=args.keep_images,
                                   ground_pose_checkpoint=args.ground_pose_model,
                                   progress=bar.update, label_lag_s=args.label_lag)
    except BagError as exc:
        print(f"semloco demos: {exc}", file=sys.stderr)
        return 2
    pairs.save(out)
    print(json.dumps({"out": str(out), "pairs": len(pairs.speed_mps), "bags": len(pairs.bags),
                      "minutes": round(pairs.minutes, 2)}, indent=2))
    return 0


def _train_speed(args: argparse.Namespace) -> int:
    from locomotion.speed_training import SpeedTrainingConfig, train_speed_policy
    from semantic_locomotion.bag import BagError
    from semantic_locomotion.demos import DemoPairs

    config = SpeedTrainingConfig(epochs=args.epochs, seed=args.seed, max_demo_minutes=args.max_demo_minutes,
                                 inputs=tuple(args.inputs))
    try:
        pairs = DemoPairs.load(args.demos)
        test_pairs = DemoPairs.load(args.test_demos) if args.test_demos else None
        report = train_speed_policy(pairs, Path(args.out), config, "semloco " + " ".join(sys.argv[1:]),
                                    progress=not args.quiet, test_pairs=test_pairs)
    except (BagError, ValueError) as exc:
        print(f"semloco train speed: {exc}", file=sys.stderr)
        return 2
    summary = {k: report[k] for k in ("demo_minutes", "episodes", "train_pairs", "validation_pairs",
                                      "val_mae_mps", "train_mae_mps", "best_epoch")}
    if "test" in report:
        summary["test_mae_mps"] = report["test"]["mae_mps"]
    print(json.dumps(summary, indent=2))
    return 0


def _train_pose(args: argparse.Namespace) -> int:
    from robot_perception.ground_pose import save_ground_pose
    from robot_perception.ground_pose_training import PoseTrainingConfig, train_ground_pose
    from robot_perception.inference import TerrainPerception
    from semantic_locomotion.ground_pose_data import dataset_pose_frames

    for name, folder in (("--data", args.data), ("--val", args.val)):
        if not (Path(folder) / "dataset.json").is_file():
            print(f"semloco train pose: {name}: {folder} is not a `semloco dataset` folder", file=sys.stderr)
            return 2
    try:
        config = PoseTrainingConfig(mode=args.mode, epochs=args.epochs, seed=args.seed)
    except ValueError as exc:
        print(f"semloco train pose: {exc}", file=sys.stderr)
        return 2
    perception = TerrainPerception(args.perception_model, threads=2)
    train, _, _ = dataset_pose_frames(args.data, perception)
    validation, _, _ = dataset_pose_frames(args.val, perception)
    net, report = train_ground_pose(train, validation, config)
    command = "semloco " + " ".join(sys.argv[1:])
    save_ground_pose(args.out, net, perception.header["sha256"],
                     {"mode": args.mode, "train_data": args.data, "validation_data": args.val, "command": command})
    report.update({"out": args.out, "command": command})
    write_json(Path(args.out).with_suffix(".train.json"), report)
    print(json.dumps({k: report[k] for k in ("best_epoch", "best_validation_loss", "train_frames", "train_s")},
                     indent=2))
    return 0


def _eval_pose(args: argparse.Namespace) -> int:
    from robot_perception.ground_pose import GroundPoseError, load_ground_pose
    from robot_perception.inference import TerrainPerception
    from semantic_locomotion.ground_pose_data import evaluate_pose_models

    if not (Path(args.data) / "dataset.json").is_file():
        print(f"semloco eval pose: --data: {args.data} is not a `semloco dataset` folder", file=sys.stderr)
        return 2
    try:
        nets = {Path(m).stem: load_ground_pose(m)[0] for m in args.model}
    except GroundPoseError as exc:
        print(f"semloco eval pose: {exc}", file=sys.stderr)
        return 2
    report = evaluate_pose_models(args.data, nets, TerrainPerception(args.perception_model, threads=2))
    if args.json:
        write_json(args.json, report)
    print(json.dumps(report, indent=2))
    return 0


def _graph(args: argparse.Namespace) -> int:
    from semantic_locomotion.graph import run_graph, trail_graph
    from sim.trail import load_trail

    trail = load_trail(args.trail)
    report = Path(args.json).resolve() if args.json else None
    specs = trail_graph(args.trail, args.seed, str(report or ""), args.gui)
    timeout = args.timeout or trail.length_m / 0.25 + 120.0

    def show(status: dict) -> None:
        if not args.quiet:
            print(f"\r{status.get('distance_m', 0.0):6.1f} / {trail.length_m:.0f} m  {status.get('terrain', ''):12s}",
                  end="", flush=True)

    status = run_graph(specs, Path(args.logs), timeout, on_status=show)
    print()
    print(json.dumps(status, indent=2))
    return 0 if status.get("completed") else 1


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


def _sweep(args: argparse.Namespace) -> int:
    from semantic_locomotion.sweep import SweepCommand, SweepFailed, SweepGrid, SweepInputError, print_page, \
        sweep_and_report

    grid = SweepGrid(tuple(args.trails), tuple(args.policies), tuple(args.seeds))
    request = SweepCommand(grid, Path(args.out), "semloco " + " ".join(sys.argv[1:]), args.address, args.cpus,
                           Path(args.plots) if args.plots else None, args.quiet)
    try:
        page = sweep_and_report(request)
    except SweepInputError as exc:
        print(f"semloco sweep: {exc}", file=sys.stderr)
        return 2
    except SweepFailed as exc:
        print(f"semloco sweep: {exc}", file=sys.stderr)
        return 1
    print_page(page, request.out)
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
    dataset.add_argument("--burst-frames", type=int, default=5,
                         help="consecutive camera frames per capture point (e.g. 30 for a video set to measure "
                         "flicker on)")
    dataset.add_argument("--max-slope-deg", type=float,
                         help="slopes of the random trails, within +-this (default: random_trail's, 10; 0: flat)")
    dataset.add_argument("--boulders", action="store_true",
                         help="put boulders beside the walking line and one closing each trail")
    dataset.add_argument("--ray", action="store_true",
                         help="drive the trails as Ray tasks (local Ray, or RAY_ADDRESS): the same files")
    dataset.add_argument("--quiet", action="store_true", help="no progress bar")
    dataset.set_defaults(func=_dataset)

    montage = sub.add_parser("montage", help="one camera frame and label mask per walkable class, as a PNG")
    montage.add_argument("--out", default="docs/terrain_montage.png")
    montage.add_argument("--seed", type=int, default=0)
    montage.set_defaults(func=_montage)

    trail = sub.add_parser("trail", help="walk a trail closed loop: camera -> perception -> speed policy -> "
                           "gait selector -> MPC (the main job)")
    trail.add_argument("--trail", default="demo", help="built-in trail name (demo, paper460, ...) or a YAML file")
    trail.add_argument("--policy", default="learned",
                       choices=("learned", "oracle", "fixed-slow", "fixed-medium", "fixed-fast"))
    trail.add_argument("--seed", type=int, default=0, help="seed of sensor noise, lighting and terrain details")
    trail.add_argument("--gui", action="store_true", help="open the PyBullet window (needs a display)")
    trail.add_argument("--json", help="write the report here")
    trail.add_argument("--report", help="folder for the report, the samples and the speed-along-the-trail plot")
    trail.add_argument("--perception-model", help="TerrainNet checkpoint (default: models/terrain_net.pt)")
    trail.add_argument("--speed-model", help="speed policy checkpoint (default: models/speed_policy.pt)")
    trail.add_argument("--quiet", action="store_true", help="no progress bar")
    trail.set_defaults(func=_trail)

    graph = sub.add_parser("graph", help="the trail traversal as separate ROS 2 nodes over DDS (what "
                           "launch/trail.launch.py starts), stopped when the trail ends")
    graph.add_argument("--trail", default="demo")
    graph.add_argument("--seed", type=int, default=0)
    graph.add_argument("--gui", action="store_true")
    graph.add_argument("--json", help="the sim node writes the trail report here")
    graph.add_argument("--logs", default="graph_logs", help="folder for each node's log")
    graph.add_argument("--timeout", type=float, help="seconds (default: the trail at 0.25 m/s plus 2 minutes)")
    graph.add_argument("--quiet", action="store_true")
    graph.set_defaults(func=_graph)

    sweep = sub.add_parser("sweep", help="a grid of trail traversals (trails x policies x seeds) as Ray tasks, "
                           "resumable, with the merged trail-policies table")
    sweep.add_argument("--trails", nargs="+", required=True, help="built-in trail names or YAML files")
    sweep.add_argument("--policies", nargs="+", required=True,
                       help="learned, oracle, fixed-slow, fixed-medium, fixed-fast")
    sweep.add_argument("--seeds", nargs="+", type=int, required=True)
    sweep.add_argument("--out", default="out/sweep",
                       help="folder: runs/<run id>.json (finished runs are skipped), trail_policies.json and .md")
    sweep.add_argument("--address", help="Ray cluster to run on (default: RAY_ADDRESS, else a local Ray)")
    sweep.add_argument("--cpus", type=int, help="CPUs of the local Ray (default: all)")
    sweep.add_argument("--plots", help="folder for the speed plot of every learned and every seed-0 run")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=_sweep)

    demonstrate = sub.add_parser("demonstrate", help="record the scripted demonstrator driving random trails "
                                 "(rosbag2/MCAP bags)")
    demonstrate.add_argument("--out", required=True, help="folder of bags (resumes an interrupted run)")
    demonstrate.add_argument("--minutes", type=float, default=20.0, help="walking time to record (simulated)")
    demonstrate.add_argument("--seed", type=int, default=0)
    demonstrate.add_argument("--ray", action="store_true",
                             help="record the episodes as Ray tasks (local Ray, or RAY_ADDRESS): the same bags")
    demonstrate.add_argument("--quiet", action="store_true")
    demonstrate.set_defaults(func=_demonstrate)

    demos = sub.add_parser("demos", help="recorded demonstrations -> (embedding, forward speed) training pairs")
    demos.add_argument("folder", help="folder holding rosbag2/MCAP bags")
    demos.add_argument("--out", help="pairs file to write (default: FOLDER/pairs.npz)")
    demos.add_argument("--perception-model", default="models/terrain_net.pt")
    demos.add_argument("--keep-images", action="store_true", help="also store the RGB images (for fine-tuning)")
    demos.add_argument("--ground-pose-model",
                       help="also store each frame's ground pose and depth summary (the policy's depth and pose "
                            "inputs) with this encoder, e.g. models/ground_pose.pt")
    demos.add_argument("--label-lag", type=float, default=0.4,
                       help="pair each image with the command this many seconds later (the operator's reaction "
                            "delay; config/demonstrator.yaml's is 0.4 s)")
    demos.add_argument("--quiet", action="store_true")
    demos.set_defaults(func=_demos)

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
    perception.add_argument("--data", required=True, nargs="+", help="folder(s) made by `semloco dataset`")
    perception.add_argument("--init", help="fine-tune: start from this checkpoint's weights")
    perception.add_argument("--learning-rate", type=float, default=3e-3)
    perception.add_argument("--out", default="models/terrain_net.pt", help="checkpoint to write")
    perception.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget")
    perception.add_argument("--max-steps", type=int, default=8000)
    perception.add_argument("--batch-size", type=int, default=16)
    perception.add_argument("--threads", type=int, default=2)
    perception.add_argument("--seed", type=int, default=0)
    perception.add_argument("--own-prior-share", type=float, default=0.0,
                            help="share of the previous-frame priors taken from the model's own labels of that frame "
                            "(as at run time) instead of its ground truth")
    perception.add_argument("--appearance", choices=("basic", "corrupt", "wide", "chroma"), default="basic",
                            help="photometric augmentation: basic (global gain and offset), corrupt (basic, then "
                                 "blur, motion blur, noise, JPEG), wide (per-class brightness and tint, exposure, "
                                 "contrast, gamma, shading, then the corruptions) or chroma (per-class brightness, "
                                 "exposure and shading that keep each pixel's channel ratios, noise, blur)")
    perception.add_argument("--no-previous-mask", action="store_true",
                            help="ablation: RGB only, without the previous-mask channel")
    perception.add_argument("--quiet", action="store_true")
    perception.set_defaults(func=_train_perception)

    speed = train.add_parser("speed", help="train the speed policy by imitation of demonstration pairs")
    speed.add_argument("--demos", required=True, help="a pairs file or a folder holding pairs.npz (`semloco demos`)")
    speed.add_argument("--out", default="models/speed_policy.pt", help="checkpoint to write (with .md card)")
    speed.add_argument("--test-demos", help="test pairs (episodes recorded apart): evaluated once after training, "
                                            "reported in the card apart from the validation (selection) figures")
    speed.add_argument("--epochs", type=int, default=300)
    speed.add_argument("--seed", type=int, default=0)
    speed.add_argument("--max-demo-minutes", type=float, default=30.0,
                       help="refuse more demonstration time than this (the acceptance budget)")
    speed.add_argument("--inputs", nargs="+", choices=("semantic", "depth", "pose"), default=["semantic"],
                       help="input groups: the semantic embedding vector, the corridor's depth summary, the inferred "
                            "ground pose (the last two need pairs made with `semloco demos --ground-pose-model`)")
    speed.add_argument("--quiet", action="store_true")
    speed.set_defaults(func=_train_speed)

    pose = train.add_parser("pose", help="train the ground-pose encoder (terrain-relative camera pose)")
    pose.add_argument("--data", required=True, help="a `semloco dataset` folder to train on")
    pose.add_argument("--val", required=True, help="a `semloco dataset` folder (other seed) that chooses the epoch")
    pose.add_argument("--mode", choices=("self", "supervised"), default="supervised",
                      help="self: rendering loss against the depth head's depth (no labels); supervised: the "
                           "simulator's planes")
    pose.add_argument("--perception-model", default="models/terrain_net.pt")
    pose.add_argument("--epochs", type=int, default=40)
    pose.add_argument("--seed", type=int, default=0)
    pose.add_argument("--out", default="models/ground_pose.pt")
    pose.set_defaults(func=_train_pose)

    evaluate = sub.add_parser("eval", help="evaluate a model").add_subparsers(dest="what", required=True)
    perception_eval = evaluate.add_parser("perception", help="IoU, flicker, depth errors and fps of a checkpoint")
    perception_eval.add_argument("--data", required=True, help="a folder made by `semloco dataset` (unseen seeds)")
    perception_eval.add_argument("--checkpoint", default="models/terrain_net.pt")
    perception_eval.add_argument("--backend", choices=("onnx", "torch"), default="onnx")
    perception_eval.add_argument("--threads", type=int, default=2)
    perception_eval.add_argument("--json", help="write the full report (with the confusion matrix) here")
    perception_eval.add_argument("--card", help="write the checkpoint's model card (Markdown) here")
    perception_eval.set_defaults(func=_eval_perception)
    speed_eval = evaluate.add_parser("speed", help="a speed policy's error on demonstration pairs it never saw")
    speed_eval.add_argument("--demos", required=True,
                            help="a pairs file or a folder holding pairs.npz (`semloco demos`), recorded with a "
                                 "seed the training demonstrations did not use")
    speed_eval.add_argument("--model", default="models/speed_policy.pt")
    speed_eval.add_argument("--json", help="write the report (per terrain and per episode) here")
    speed_eval.set_defaults(func=_eval_speed)
    pose_eval = evaluate.add_parser("pose", help="ground-pose errors against the simulator's planes")
    pose_eval.add_argument("--data", required=True, help="a `semloco dataset` folder of seeds no training used")
    pose_eval.add_argument("--model", nargs="+", default=["models/ground_pose.pt"])
    pose_eval.add_argument("--perception-model", default="models/terrain_net.pt")
    pose_eval.add_argument("--json", help="write the report here")
    pose_eval.set_defaults(func=_eval_pose)
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
