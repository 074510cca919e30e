"""`semloco train perception`: train TerrainNet on a `semloco dataset` folder within a time budget.

Loss: cross-entropy on labels (ignoring 255) + L1 on log depth over pixels that hit something.
AdamW with a cosine learning-rate decay driven by the larger of step and wall-clock progress, so
a time budget still ends on a low learning rate. Every ``save_every`` steps the full state
(weights, optimizer, step, elapsed time, RNG) goes to ``<out>.resume.pt``; running the same
command again resumes from it. Progress is shown with tqdm and logged to ``<out>.log.jsonl``;
the end writes the checkpoint, ``<out>.train.json`` and a loss-curve plot ``<out>.train.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from robot_perception.checkpoint import load_checkpoint, save_checkpoint
from robot_perception.data import (APPEARANCE_AUGMENTATIONS, FrameSet, PriorMix, concatenate_frames, load_frames,
                                   training_sample, valid_depth)
from robot_perception.model import MAX_DEPTH_M, MIN_DEPTH_M, TerrainNet, network_input
from sim.camera import IGNORE_LABEL


@dataclasses.dataclass
class TrainConfig:
    data: Path | tuple[Path, ...]  # one dataset folder, or several to train on together
    out: Path = Path("models/terrain_net.pt")
    use_previous_mask: bool = True
    minutes: float = 30.0
    max_steps: int = 8000
    batch_size: int = 16
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    depth_weight: float = 1.0
    threads: int = 2
    seed: int = 0
    save_every: int = 200
    command: str = ""
    init: Path | None = None  # start from this checkpoint's weights (fine-tuning) instead of noise
    # share of the previous-frame priors taken from the model's own labels of that frame (as at run
    # time) instead of its ground truth; 0 = the seed's perturbations only
    own_prior_share: float = 0.0
    # photometric augmentation: "basic" (global gain/offset, as before), "corrupt", "wide"
    # (data.wide_appearance) or "chroma" (data.chroma_appearance)
    appearance: str = "basic"


def to_batch(samples, num_classes: int, use_prior: bool):
    rgb = network_input(np.stack([s[0] for s in samples]), [s[1] for s in samples] if use_prior else None,
                        num_classes)
    labels = torch.from_numpy(np.stack([s[2] for s in samples])).long()
    depth = np.stack([s[3] for s in samples])
    valid = torch.from_numpy(np.stack([valid_depth(s[3], s[2]) for s in samples]))
    log_depth = torch.from_numpy(np.log(np.clip(np.where(np.isfinite(depth), depth, MAX_DEPTH_M),
                                                MIN_DEPTH_M, MAX_DEPTH_M))).float()
    return rgb, labels, log_depth, valid


def own_labels(model: TerrainNet, frames: FrameSet, j: int, use_prior: bool) -> np.ndarray:
    """The model's current labels of frame ``j`` (HxW uint8), given the ground truth of the frame before
    it as its prior (or none): what the model would pass on as the next frame's prior at run time."""
    before = frames.previous_index(j)
    priors = [None if before is None else frames.labels[before]] if use_prior else None
    rgb = network_input(frames.rgb[j][None], priors, len(frames.class_names))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        labels = model(rgb)["logits"].argmax(1)[0].numpy().astype(np.uint8)
    model.train(was_training)
    return labels


def losses(out, labels, log_depth, valid, depth_weight: float):
    seg = F.cross_entropy(out["logits"], labels, ignore_index=IGNORE_LABEL)
    if valid.any():
        dep = (out["log_depth"] - log_depth).abs()[valid].mean()
    else:
        dep = out["log_depth"].sum() * 0.0
    return seg + depth_weight * dep, seg, dep


def train(config: TrainConfig, frames: FrameSet | None = None, progress: bool = True) -> dict:
    from tqdm import tqdm

    if not 0.0 <= config.own_prior_share <= 1.0:
        raise ValueError(f"--own-prior-share: must be in [0, 1], got {config.own_prior_share}")
    if config.appearance not in APPEARANCE_AUGMENTATIONS:
        raise ValueError(f"--appearance: one of {APPEARANCE_AUGMENTATIONS}, got {config.appearance!r}")
    if config.own_prior_share and not config.use_previous_mask:
        raise ValueError("--own-prior-share: needs the previous-mask channel (not with --no-previous-mask)")
    torch.set_num_threads(config.threads)
    if frames is None:
        folders = config.data if isinstance(config.data, tuple) else (config.data,)
        frames = concatenate_frames([load_frames(f) for f in folders]) if len(folders) > 1 else load_frames(folders[0])
    num_classes = len(frames.class_names)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = TerrainNet(num_classes, config.use_previous_mask)
    if config.init is not None:
        initial, header = load_checkpoint(config.init, expected_classes=frames.class_names)
        if bool(header["use_previous_mask"]) != config.use_previous_mask:
            raise ValueError(f"--init: {config.init} has use_previous_mask={header['use_previous_mask']}, "
                             f"but this run has {config.use_previous_mask}")
        model.load_state_dict(initial.state_dict())
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    out = Path(config.out)
    resume_path = out.with_name(out.name + ".resume.pt")
    log_path = out.with_name(out.name + ".log.jsonl")
    step, elapsed_before, history = 0, 0.0, []
    if resume_path.exists():
        state = torch.load(resume_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed_before, history = state["step"], state["elapsed_s"], state["history"]
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
    budget_s = config.minutes * 60.0
    mix = PriorMix(own_prediction=config.own_prior_share)
    predict = (lambda j: own_labels(model, frames, j, config.use_previous_mask)) if config.own_prior_share else None
    start = time.perf_counter()
    model.train()
    bar = tqdm(total=config.max_steps, initial=step, desc="train perception", unit="step", disable=not progress)
    log = open(log_path, "a")

    def save_resume():
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                    "elapsed_s": elapsed_before + time.perf_counter() - start, "history": history,
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()},
                   resume_path.with_name(resume_path.name + ".tmp"))
        resume_path.with_name(resume_path.name + ".tmp").replace(resume_path)

    try:
        while step < config.max_steps:
            elapsed = elapsed_before + time.perf_counter() - start
            progress_fraction = max(step / config.max_steps, elapsed / budget_s)
            if progress_fraction >= 1.0:
                break
            lr = config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress_fraction))
            for group in optimizer.param_groups:
                group["lr"] = lr
            idx = rng.integers(0, len(frames), config.batch_size)
            samples = [training_sample(frames, int(i), rng, mix, predict, config.appearance) for i in idx]
            rgb, labels, log_depth, valid = to_batch(samples, num_classes, config.use_previous_mask)
            output = model(rgb)
            total, seg, dep = losses(output, labels, log_depth, valid, config.depth_weight)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            step += 1
            bar.update(1)
            if step % 20 == 0:
                record = {"step": step, "elapsed_s": round(elapsed, 1), "lr": lr, "loss": float(total.detach()),
                          "seg_loss": float(seg.detach()), "depth_loss": float(dep.detach())}
                history.append(record)
                log.write(json.dumps(record) + "\n")
                log.flush()
                bar.set_postfix(seg=f"{record['seg_loss']:.3f}", depth=f"{record['depth_loss']:.3f}")
            if step % config.save_every == 0:
                save_resume()
    finally:
        bar.close()
        log.close()
    save_resume()
    elapsed = elapsed_before + time.perf_counter() - start
    model.eval()
    digest = save_checkpoint(out, model, frames.class_names, frames.rgb.shape[1:3], extra={
        "trained_steps": step, "train_minutes": round(elapsed / 60, 1), "batch_size": config.batch_size,
        "train_data": str(config.data), "train_data_seed": frames.card.get("seed"),
        "init": str(config.init) if config.init else None, "own_prior_share": config.own_prior_share,
        "appearance_augmentation": config.appearance,
        "train_trail_seeds": frames.card.get("trail_seeds"), "train_frames": len(frames),
        "command": config.command,
    })
    report = {"checkpoint": str(out), "sha256": digest, "steps": step, "minutes": round(elapsed / 60, 1),
              "use_previous_mask": config.use_previous_mask, "final": history[-1] if history else None}
    out.with_name(out.name + ".train.json").write_text(json.dumps({**report, "history": history}, indent=2))
    plot_history(history, out.with_name(out.name + ".train.png"))
    return report


def plot_history(history: list[dict], path: Path) -> None:
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, [h["seg_loss"] for h in history], label="segmentation (cross-entropy)")
    ax.plot(steps, [h["depth_loss"] for h in history], label="depth (L1 of log depth)")
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("TerrainNet training")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
