"""Saving and loading TerrainNet checkpoints with the facts needed to trust them.

A checkpoint is a torch file holding the weights and a header: format version, architecture
settings, class names, input size and a SHA-256 of the weights. Loading checks each and says what
is wrong in terms a user can act on.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from robot_perception.model import TerrainNet

FORMAT = "semantic_locomotion.terrain_net.v1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, malformed, corrupted or made for other classes or inputs."""


def weights_hash(state_dict: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(path: str | Path, model: TerrainNet, class_names: tuple[str, ...], input_hw: tuple[int, int],
                    extra: dict | None = None) -> str:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    digest = weights_hash(state)
    header = {
        "format": FORMAT,
        "num_classes": model.num_classes,
        "use_previous_mask": model.use_previous_mask,
        "width": getattr(model, "width", 1.0),
        "class_names": list(class_names),
        "input_hw": list(input_hw),
        "sha256": digest,
        **(extra or {}),
    }
    buffer = io.BytesIO()
    torch.save({"header": header, "state_dict": state}, buffer)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return digest


def load_checkpoint(path: str | Path, expected_classes: tuple[str, ...] | None = None,
                    expected_input_hw: tuple[int, int] | None = None) -> tuple[TerrainNet, dict]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint: {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"checkpoint: {path} is not a TerrainNet checkpoint ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or "header" not in data or "state_dict" not in data:
        raise CheckpointError(f"checkpoint: {path} has no header/state_dict; not a TerrainNet checkpoint")
    header = data["header"]
    if header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint: {path} has format {header.get('format')!r}, expected {FORMAT!r}")
    if expected_classes is not None and tuple(header["class_names"]) != tuple(expected_classes):
        raise CheckpointError(
            f"checkpoint: {path} was trained for classes {header['class_names']}, "
            f"but this stack uses {list(expected_classes)}; retrain with `semloco train perception`")
    if expected_input_hw is not None and tuple(header["input_hw"]) != tuple(expected_input_hw):
        raise CheckpointError(
            f"checkpoint: {path} expects {header['input_hw'][1]}x{header['input_hw'][0]} images, "
            f"the camera gives {expected_input_hw[1]}x{expected_input_hw[0]}")
    state = data["state_dict"]
    if weights_hash(state) != header["sha256"]:
        raise CheckpointError(f"checkpoint: {path} weights do not match their SHA-256 (corrupted or edited)")
    model = TerrainNet(header["num_classes"], header["use_previous_mask"], header.get("width", 1.0))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint: {path} weights do not fit the architecture: {exc}") from exc
    model.eval()
    return model, header
