"""Model cards for TerrainNet checkpoints, written from the checkpoint header and an evaluation."""

from __future__ import annotations

from pathlib import Path

from robot_perception.checkpoint import load_checkpoint
from robot_perception.model import EMBED_DIM, TRAIL_AHEAD_FROM
from sim.terrain import WALKABLE_CLASSES


def write_model_card(checkpoint: str | Path, evaluation: dict, path: str | Path, eval_command: str) -> Path:
    from robot_perception.data import PriorMix

    mix = PriorMix()
    model, header = load_checkpoint(checkpoint)
    params = sum(p.numel() for p in model.parameters())
    size_mb = Path(checkpoint).stat().st_size / 1e6
    h, w = header["input_hw"]
    own = header.get("own_prior_share") or 0.0
    own_text = f"; {own:.0%} of those replaced by the model's own labels of that frame, as at run time" if own else ""
    iou_rows = "\n".join(f"| {name} | {'-' if v is None else f'{v:.3f}'} |" for name, v in evaluation["iou"].items())
    lines = [
        f"# Model card: `{Path(checkpoint).name}`",
        "",
        "TerrainNet: terrain semantic segmentation, a semantic embedding and monocular metric depth from one",
        "onboard camera frame (`robot_perception/model.py`).",
        "",
        "## Architecture",
        "- MobileNetV2 inverted-residual encoder (output stride 16), light ASPP (DeepLabv3+), decoder with a",
        f"  1/4-resolution skip, segmentation and log-depth heads; {params:,} parameters, {size_mb:.1f} MB.",
        f"- Input: {w}x{h} RGB" + (" plus the previous frame's labels as a 4th channel" if header["use_previous_mask"]
                                  else " only (no previous-mask channel: the ablation model)") + ".",
        f"- Semantic embedding: the {EMBED_DIM}-channel ASPP output (1/16 resolution) as a per-pixel map; the",
        "  vector for the speed policy is its mean and the mean class probabilities over the image from",
        f"  {TRAIL_AHEAD_FROM:g} of its height down (the trail just ahead): "
        f"{EMBED_DIM} + {len(header['class_names'])} values.",
        f"- Classes (label id = index): {', '.join(f'{i} {c}' for i, c in enumerate(header['class_names']))};",
        "  255 = ignore.",
        f"- Weights SHA-256: `{header['sha256']}` (checked on load).",
        "",
        "## Training",
        f"- Data: `{header.get('train_data')}`, {header.get('train_frames')} frames from `semloco dataset` with seed "
        f"{header.get('train_data_seed')} (trail seeds {header.get('train_trail_seeds')}).",
        f"- Command: `{header.get('command')}`",
        f"- {header.get('trained_steps')} steps of batch {header.get('batch_size')} in "
        f"{header.get('train_minutes')} min on a 2-core CPU.",
        f"- Previous-mask perturbations: empty ({mix.empty:.0%}), the previous frame's ground truth "
        f"({mix.previous_frame:.0%}{own_text}), the frame's own",
        f"  ground truth under an affine transform (the rest; {mix.major_affine:.0%} of those major), random blobs "
        f"relabelled ({mix.label_swaps:.0%}),",
        f"  and a smooth image warp against an unchanged prior ({mix.image_warp:.0%}).",
        "- Photometric augmentation: " + (
            "wide (`robot_perception.data.wide_appearance`: per-class brightness 0.8-1.25 and tint +-3 %, "
            "exposure 0.6-1.6,\n  colour balance +-5 %, contrast 0.7-1.3, gamma 0.85-1.2, smooth shading +-25 %, "
            "blur, motion blur, noise, JPEG)." if header.get("appearance_augmentation") == "wide"
            else "basic (exposure 0.8-1.2, colour balance +-5 %, offset +-10), then corruptions "
            "(`robot_perception.data.corruptions`:\n  blur 20 %, motion blur 10 %, noise 30 %, JPEG 30 %)."
            if header.get("appearance_augmentation") == "corrupt"
            else "basic (exposure 0.8-1.2, colour balance +-5 %, offset +-10)."),
        "",
        "## Evaluation (trails never used in training)",
        f"- Data: {evaluation['frames']} frames from `semloco dataset` with seed {evaluation['data_seed']}.",
        f"- Command: `{eval_command}`",
        f"- mIoU over the walkable classes ({', '.join(WALKABLE_CLASSES)}): **{evaluation['miou_walkable']:.3f}**;",
        f"  mIoU over all classes {evaluation['miou_all']:.3f}; pixel accuracy {evaluation['pixel_accuracy']:.3f}.",
        f"- Flicker (label changes between consecutive frames where the ground truth does not change): "
        f"{evaluation['flicker']:.4f}.",
        f"- Depth: AbsRel **{evaluation['depth_abs_rel']:.3f}**, RMSE {evaluation['depth_rmse_m']:.2f} m, "
        f"δ<1.25 **{evaluation['depth_delta_1_25']:.3f}**.",
        f"- Speed: {evaluation['fps']:.0f} frames/s ({evaluation['backend']}, whole perception step).",
        "",
        "| class | IoU |",
        "|---|---|",
        iou_rows,
        "",
        "## Limits",
        "- Trained on simulated PyBullet trails only (software-rendered textures); expect a domain gap on real",
        "  camera images.",
    ]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
