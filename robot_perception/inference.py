"""Terrain perception at run time: one camera frame in; labels, metric depth and the semantic
embedding out. Keeps the previous frame's labels as the next frame's prior (4th input channel).

The checkpoint is verified (classes, input size, SHA-256) and, for the default ``onnx`` backend,
exported to ONNX (once per checkpoint: the export is cached, ``onnx_cache_dir``) and run with
onnxruntime (the path that also serves deployments without PyTorch); ``tests/test_perception.py``
checks that both backends give the same output and ``bench/perception_fps.py`` measures both
(on the 2-core CI machine they are about equal).
"""

from __future__ import annotations

import dataclasses
import io
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from robot_perception.checkpoint import load_checkpoint
from robot_perception.model import MAX_DEPTH_M, MIN_DEPTH_M, embedding_vector, network_input


def onnx_cache_dir() -> Path:
    """Where exported ONNX models are kept: $SEMLOCO_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache."""
    if os.environ.get("SEMLOCO_CACHE_DIR"):
        return Path(os.environ["SEMLOCO_CACHE_DIR"]) / "onnx"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "semantic_locomotion" / "onnx"


def write_atomically(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` so that a reader sees the whole file or none; False if it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(path)
        return True
    except OSError:
        return False


class ImageError(ValueError):
    """A camera image the perception cannot use (wrong encoding, size or content)."""


@dataclasses.dataclass
class PerceptionOutput:
    labels: np.ndarray  # (H, W) uint8 class ids
    depth_m: np.ndarray  # (H, W) float32 metres along the optical axis
    embedding: np.ndarray  # (EMBED_DIM + C,) float32, the documented semantic embedding vector
    embedding_map: np.ndarray  # (EMBED_DIM, H/16, W/16) float32 per-pixel embedding
    probabilities: np.ndarray  # (C, H, W) float32 softmax


def validate_image(image, height: int, width: int) -> np.ndarray:
    """An (H, W, 3) uint8 RGB image, or an ImageError saying what is wrong."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"image: expected a numpy array, got {type(image).__name__}")
    if image.size == 0:
        raise ImageError("image: empty")
    if image.dtype != np.uint8:
        raise ImageError(f"image: expected 8-bit RGB (uint8), got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"image: expected shape (H, W, 3) RGB, got {image.shape}")
    if image.shape[:2] != (height, width):
        raise ImageError(f"image: expected {width}x{height}, got {image.shape[1]}x{image.shape[0]} "
                         "(the model was trained at the camera's resolution)")
    return image


class TerrainPerception:
    def __init__(self, checkpoint: str | Path, backend: str = "onnx", threads: int = 2,
                 expected_classes: tuple[str, ...] | None = None):
        self.model, self.header = load_checkpoint(checkpoint, expected_classes)
        self.class_names = tuple(self.header["class_names"])
        self.num_classes = len(self.class_names)
        self.height, self.width = self.header["input_hw"]
        self.uses_prior = bool(self.header["use_previous_mask"])
        if backend not in ("onnx", "torch"):
            raise ValueError(f"backend: expected 'onnx' or 'torch', got {backend!r}")
        self.backend = backend
        torch.set_num_threads(threads)
        if backend == "onnx":
            self.session = self._onnx_session(threads)
        self.reset()

    def _onnx_session(self, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        path = onnx_cache_dir() / self._onnx_name()
        try:
            cached = path.read_bytes()
        except OSError:
            cached = None
        if cached is not None:
            try:
                return onnxruntime.InferenceSession(cached, options, providers=["CPUExecutionProvider"])
            except Exception:
                pass
        data = self._export_onnx()
        write_atomically(path, data)
        return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])

    def _onnx_name(self) -> str:
        """The cache file of this network: checkpoint weights (SHA-256), input shape, opset, torch."""
        channels = 4 if self.uses_prior else 3
        return (f"terrain_net-{self.header['sha256'][:16]}-{channels}x{self.height}x{self.width}"
                f"-opset17-torch{torch.__version__}.onnx")

    def _export_onnx(self) -> bytes:
        channels = 4 if self.uses_prior else 3
        buffer = io.BytesIO()
        with warnings.catch_warnings():  # the TorchScript exporter announces its own deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(self.model, (torch.zeros(1, channels, self.height, self.width),), buffer,
                              input_names=["input"], output_names=["logits", "log_depth", "embedding"],
                              dynamo=False, opset_version=17)
        return buffer.getvalue()

    def reset(self) -> None:
        """Forget the previous frame (the next frame is treated as the first)."""
        self.previous_labels: np.ndarray | None = None

    def network_input(self, image: np.ndarray) -> np.ndarray:
        priors = [self.previous_labels] if self.uses_prior else None
        return network_input(image[None], priors, self.num_classes).numpy()

    def run_network(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.backend == "onnx":
            logits, log_depth, embedding = self.session.run(None, {"input": x})
            return logits, log_depth, embedding
        with torch.no_grad():
            out = self.model(torch.from_numpy(x))
        return out["logits"].numpy(), out["log_depth"].numpy(), out["embedding"].numpy()

    def process(self, image: np.ndarray) -> PerceptionOutput:
        image = validate_image(image, self.height, self.width)
        logits, log_depth, embedding = self.run_network(self.network_input(image))
        logits = logits[0]
        shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
        probabilities = (shifted / shifted.sum(axis=0, keepdims=True)).astype(np.float32)
        labels = logits.argmax(axis=0).astype(np.uint8)
        depth = np.exp(np.clip(log_depth[0], np.log(MIN_DEPTH_M), np.log(MAX_DEPTH_M))).astype(np.float32)
        vector = embedding_vector(torch.from_numpy(embedding), torch.from_numpy(probabilities[None])).numpy()[0]
        vector = vector.astype(np.float32)
        self.previous_labels = labels
        return PerceptionOutput(labels, depth, vector, embedding[0].astype(np.float32), probabilities)
