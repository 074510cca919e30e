"""`semloco eval perception`: segmentation, temporal consistency, depth and speed of a checkpoint.

Frames are processed in recording order, sequence by sequence, exactly as at run time: the first
frame of a sequence has an empty prior, each later frame gets the model's own previous labels.

    IoU per class (over classes present in the ground truth), mIoU over the walkable classes
    flicker   share of pixels whose predicted label changes between consecutive frames, among the
              pixels whose ground-truth label does not change (also per sequence: changed and
              stable pixel counts, for paired comparisons between models; and by position in the
              sequence: transition 1 is from its first frame, whose prior is empty, to its second)
    depth     AbsRel = mean |d - d*| / d*, RMSE, delta<1.25 = share with max(d/d*, d*/d) < 1.25, over
              pixels that hit something within 30 m
    fps       frames per second of the whole perception step (validation, network, argmax, depth)
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from robot_perception.data import FrameSet, load_frames, valid_depth
from robot_perception.inference import TerrainPerception
from sim.camera import IGNORE_LABEL
from sim.terrain import WALKABLE_CLASSES


def evaluate(checkpoint: str | Path, data: str | Path | FrameSet, backend: str = "onnx", threads: int = 2) -> dict:
    frames = data if isinstance(data, FrameSet) else load_frames(data)
    perception = TerrainPerception(checkpoint, backend=backend, threads=threads, expected_classes=frames.class_names)
    n_classes = len(frames.class_names)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    flicker_changed = flicker_total = 0
    per_sequence: dict[int, list[int]] = {}  # sequence -> [changed, stable] pixel counts
    per_transition: dict[int, list[int]] = {}  # k-th transition of a sequence -> [changed, stable]
    position = 0  # frames of the current sequence before this one
    abs_rel, sq_err, delta_ok, depth_count = 0.0, 0.0, 0, 0
    previous_pred = None
    elapsed = 0.0
    for i in range(len(frames)):
        prev = frames.previous_index(i)
        if prev is None:
            perception.reset()
            previous_pred = None
            position = 0
        start = time.perf_counter()
        out = perception.process(frames.rgb[i])
        elapsed += time.perf_counter() - start
        gt = frames.labels[i]
        known = gt != IGNORE_LABEL
        confusion += np.bincount(gt[known].astype(np.int64) * n_classes + out.labels[known],
                                 minlength=n_classes * n_classes).reshape(n_classes, n_classes)
        if previous_pred is not None:
            stable = (frames.labels[prev] == gt) & known
            changed, total = int(np.sum((previous_pred != out.labels) & stable)), int(stable.sum())
            flicker_changed += changed
            flicker_total += total
            counts = per_sequence.setdefault(int(frames.trail[i]), [0, 0])
            counts[0] += changed
            counts[1] += total
            counts = per_transition.setdefault(position, [0, 0])
            counts[0] += changed
            counts[1] += total
        previous_pred = out.labels
        position += 1
        valid = valid_depth(frames.depth[i], gt)
        d, t = out.depth_m[valid].astype(np.float64), frames.depth[i][valid].astype(np.float64)
        abs_rel += float(np.sum(np.abs(d - t) / t))
        sq_err += float(np.sum((d - t) ** 2))
        delta_ok += int(np.sum(np.maximum(d / t, t / d) < 1.25))
        depth_count += int(valid.sum())
    intersection = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
    present = confusion.sum(1) > 0  # classes absent from the ground truth have no IoU (only false alarms)
    iou = np.where(present, intersection / np.maximum(union, 1), np.nan)
    per_class = {name: (None if np.isnan(iou[k]) else float(iou[k])) for k, name in enumerate(frames.class_names)}
    walkable = [per_class[c] for c in WALKABLE_CLASSES if per_class.get(c) is not None]
    return {
        "checkpoint": str(checkpoint),
        "frames": len(frames),
        "data_seed": frames.card.get("seed"),
        "uses_previous_mask": perception.uses_prior,
        "backend": backend,
        "iou": per_class,
        "miou_walkable": float(np.mean(walkable)) if walkable else None,
        "miou_all": float(np.nanmean(iou)),
        "pixel_accuracy": float(intersection.sum() / max(confusion.sum(), 1)),
        "false_alarm_pixels_of_absent_classes": {name: int(confusion[:, k].sum()) for k, name in
                                                 enumerate(frames.class_names) if not present[k]},
        "flicker": flicker_changed / max(flicker_total, 1),
        "flicker_per_sequence": {str(k): v for k, v in sorted(per_sequence.items())},
        "flicker_by_transition": {str(k): v for k, v in sorted(per_transition.items())},
        "depth_abs_rel": abs_rel / max(depth_count, 1),
        "depth_rmse_m": float(np.sqrt(sq_err / max(depth_count, 1))),
        "depth_delta_1_25": delta_ok / max(depth_count, 1),
        "fps": len(frames) / elapsed if elapsed > 0 else None,
        "confusion": confusion.tolist(),
    }
