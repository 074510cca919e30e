"""The file format every shipped network uses: a torch file holding a header and the weights.

The header names the format, carries what the loader needs to rebuild and trust the network, and
the SHA-256 of the weights (names, shapes and bytes), which a loader recomputes. Writing is atomic
(a temporary file renamed over the target), so a killed training run never leaves half a model.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch


def weights_hash(state_dict: dict) -> str:
    """SHA-256 over the sorted parameter names, their shapes and their bytes."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def write_checkpoint(path: str | Path, module: torch.nn.Module, header: dict) -> str:
    """Save ``module``'s weights under ``header`` (its "sha256" is filled in); returns the SHA-256."""
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    digest = weights_hash(state)
    buffer = io.BytesIO()
    torch.save({"header": {**header, "sha256": digest}, "state_dict": state}, buffer)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return digest


def read_checkpoint(path: str | Path, expected_format: str, error: type[Exception], what: str, kind: str,
                    hint: str = "") -> tuple[dict, dict]:
    """(header, state_dict) of a checkpoint of ``expected_format`` whose weights match their SHA-256.
    Anything else raises ``error`` with a message starting with ``what``, naming the file and, when
    it is no checkpoint of this kind at all, the ``kind`` expected."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what}: {path} does not exist{hint}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise error(f"{what}: {path} is not a {kind} checkpoint ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("header"), dict) or "state_dict" not in data:
        raise error(f"{what}: {path} has no header/state_dict; not a {kind} checkpoint")
    header = data["header"]
    if header.get("format") != expected_format:
        raise error(f"{what}: {path} has format {header.get('format')!r}, expected {expected_format!r}")
    if weights_hash(data["state_dict"]) != header.get("sha256"):
        raise error(f"{what}: {path} weights do not match their SHA-256 (corrupted or edited)")
    return header, data["state_dict"]
