"""Saving and loading TerrainNet checkpoints with the facts needed to trust them.

A checkpoint is a torch file holding the weights and a header: format version, architecture
settings, class names, input size and a SHA-256 of the weights. Loading checks each and says what
is wrong in terms a user can act on.
"""

from __future__ import annotations

from pathlib import Path

from robot_perception.model import TerrainNet
from semantic_locomotion.checkpoint_file import read_checkpoint, write_checkpoint

FORMAT = "semantic_locomotion.terrain_net.v1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, malformed, corrupted or made for other classes or inputs."""


def save_checkpoint(path: str | Path, model: TerrainNet, class_names: tuple[str, ...], input_hw: tuple[int, int],
                    extra: dict | None = None) -> str:
    header = {
        "format": FORMAT,
        "num_classes": model.num_classes,
        "use_previous_mask": model.use_previous_mask,
        "width": getattr(model, "width", 1.0),
        "class_names": list(class_names),
        "input_hw": list(input_hw),
        **(extra or {}),
    }
    return write_checkpoint(path, model, header)


def load_checkpoint(path: str | Path, expected_classes: tuple[str, ...] | None = None,
                    expected_input_hw: tuple[int, int] | None = None) -> tuple[TerrainNet, dict]:
    header, state = read_checkpoint(path, FORMAT, CheckpointError, "checkpoint", "TerrainNet")
    if expected_classes is not None and tuple(header["class_names"]) != tuple(expected_classes):
        raise CheckpointError(
            f"checkpoint: {path} was trained for classes {header['class_names']}, "
            f"but this stack uses {list(expected_classes)}; retrain with `semloco train perception`")
    if expected_input_hw is not None and tuple(header["input_hw"]) != tuple(expected_input_hw):
        raise CheckpointError(
            f"checkpoint: {path} expects {header['input_hw'][1]}x{header['input_hw'][0]} images, "
            f"the camera gives {expected_input_hw[1]}x{expected_input_hw[0]}")
    model = TerrainNet(header["num_classes"], header["use_previous_mask"], header.get("width", 1.0))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint: {path} weights do not fit the architecture: {exc}") from exc
    model.eval()
    return model, header
