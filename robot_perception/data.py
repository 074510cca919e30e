"""Training and evaluation data from `semloco dataset` folders, with the seed's previous-mask
perturbations.

For every training frame the 4th input channel is one of:
  - an empty mask (the first frame, or something new in view),
  - the ground truth of the previous frame of the same trail (a real 1/15 s motion prior), or, for
    a share ``own_prediction`` of those draws when the trainer supplies a predictor, the model's own
    labels of that previous frame: the prior it will get at run time, with its own errors in it,
  - the frame's own ground truth moved by an affine transform: mostly minor (learn to follow the
    prior), sometimes major (learn to distrust a bad prior), with some labels swapped at random,
and, independently, the image (with its targets) may be smoothly warped against an unchanged
prior to emulate fast camera motion (the seed's thin-plate-spline smoothing, here a smooth random
displacement field).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from sim.camera import IGNORE_LABEL


@dataclasses.dataclass
class FrameSet:
    """All frames of one dataset folder in memory, in recording order."""

    rgb: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray  # (N, H, W) uint8
    depth: np.ndarray  # (N, H, W) float32, inf where nothing was hit
    trail: np.ndarray  # (N,) sequence id of each frame: consecutive frames of one sequence are 1/rate apart
    class_names: tuple[str, ...]
    card: dict

    def __len__(self) -> int:
        return len(self.rgb)

    def previous_index(self, i: int) -> int | None:
        """Index of the previous frame of the same sequence, or None for a sequence's first frame."""
        return i - 1 if i > 0 and self.trail[i - 1] == self.trail[i] else None


def concatenate_frames(sets: list[FrameSet]) -> FrameSet:
    """One FrameSet from several datasets (same classes required); sequences stay apart."""
    if any(s.class_names != sets[0].class_names for s in sets):
        raise ValueError("--data: the datasets have different class lists; they cannot be mixed")
    offsets = np.cumsum([0] + [int(s.trail.max()) + 1 for s in sets[:-1]])
    return FrameSet(np.concatenate([s.rgb for s in sets]), np.concatenate([s.labels for s in sets]),
                    np.concatenate([s.depth for s in sets]),
                    np.concatenate([s.trail + o for s, o in zip(sets, offsets)]), sets[0].class_names,
                    {"parts": [s.card for s in sets], "seed": [s.card.get("seed") for s in sets],
                     "trail_seeds": [seed for s in sets for seed in s.card.get("trail_seeds", [])]})


def load_frames(folder: str | Path, limit: int | None = None) -> FrameSet:
    from sim.dataset import read_index

    folder = Path(folder)
    card_path = folder / "dataset.json"
    if not card_path.is_file():
        raise FileNotFoundError(f"--data: {folder} is not a `semloco dataset` folder (no dataset.json)")
    card = json.loads(card_path.read_text())
    records = read_index(folder)[:limit]
    if not records:
        raise ValueError(f"--data: {folder} lists no frames")
    key = lambda r: (r["trail"], r.get("burst", 0))
    trails = {k: i for i, k in enumerate(dict.fromkeys(key(r) for r in records))}
    rgb = np.stack([cv2.cvtColor(cv2.imread(str(folder / r["rgb"])), cv2.COLOR_BGR2RGB) for r in records])
    labels = np.stack([cv2.imread(str(folder / r["labels"]), cv2.IMREAD_UNCHANGED) for r in records])
    depth = np.stack([np.load(folder / r["depth"]) for r in records]).astype(np.float32)
    classes = tuple(card["classes"][str(i)] for i in range(len(card["classes"])))
    return FrameSet(rgb, labels, depth, np.array([trails[key(r)] for r in records]), classes, card)


def affine_jitter(mask: np.ndarray, rng: np.random.Generator, major: bool) -> np.ndarray:
    h, w = mask.shape
    if major:
        angle, scale, shift = rng.uniform(-25, 25), rng.uniform(0.7, 1.3), rng.uniform(-0.25, 0.25, 2) * (w, h)
    else:
        angle, scale, shift = rng.uniform(-3, 3), rng.uniform(0.95, 1.05), rng.uniform(-0.03, 0.03, 2) * (w, h)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += shift
    return cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)


def swap_some_labels(mask: np.ndarray, rng: np.random.Generator, num_classes: int) -> np.ndarray:
    """Replace a few random blobs by random classes (a prior that is wrong in places)."""
    out = mask.copy()
    h, w = mask.shape
    for _ in range(rng.integers(1, 4)):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        ry, rx = rng.integers(5, h // 3), rng.integers(5, w // 3)
        yy, xx = np.ogrid[:h, :w]
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
        out[blob] = rng.integers(0, num_classes)
    return out


def smooth_warp_maps(shape: tuple[int, int], rng: np.random.Generator, amplitude_px: float = 6.0):
    h, w = shape
    coarse = rng.normal(0.0, 1.0, (2, 4, 5)).astype(np.float32)
    dx = cv2.resize(coarse[0], (w, h), interpolation=cv2.INTER_CUBIC) * amplitude_px
    dy = cv2.resize(coarse[1], (w, h), interpolation=cv2.INTER_CUBIC) * amplitude_px
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xx + dx, yy + dy


@dataclasses.dataclass(frozen=True)
class PriorMix:
    empty: float = 0.15
    previous_frame: float = 0.55
    major_affine: float = 0.1  # of the affine share
    label_swaps: float = 0.2
    image_warp: float = 0.3
    own_prediction: float = 0.0  # of the previous-frame share: the model's own labels of that frame


def training_sample(frames: FrameSet, i: int, rng: np.random.Generator, mix: PriorMix = PriorMix(),
                    predict: Callable[[int], np.ndarray] | None = None, appearance: str = "basic"):
    """(rgb uint8 HxWx3, prior labels or None, labels, depth) for frame ``i`` with augmentations.
    ``predict(j)``: the model's current labels (HxW uint8) for frame ``j``, for ``mix.own_prediction``.
    ``appearance``: "basic" (global gain and offset jitter), "corrupt" (that, then ``corruptions``),
    "wide" (see ``wide_appearance``) or "chroma" (see ``chroma_appearance``)."""
    rgb, labels, depth = frames.rgb[i], frames.labels[i], frames.depth[i]
    num_classes = len(frames.class_names)
    draw = rng.random()
    prev = frames.previous_index(i)
    if draw < mix.empty:
        prior = None
    elif draw < mix.empty + mix.previous_frame and prev is not None:
        if predict is not None and rng.random() < mix.own_prediction:
            prior = predict(prev)
        else:
            prior = frames.labels[prev].copy()
    else:
        prior = affine_jitter(labels, rng, major=rng.random() < mix.major_affine)
    if prior is not None and rng.random() < mix.label_swaps:
        prior = swap_some_labels(prior, rng, num_classes)
    if rng.random() < mix.image_warp:
        map_x, map_y = smooth_warp_maps(labels.shape, rng)
        rgb = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        labels = cv2.remap(labels, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
        depth = cv2.remap(depth, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    if appearance == "wide":
        rgb = wide_appearance(rgb, labels, rng, num_classes)
    elif appearance == "chroma":
        rgb = chroma_appearance(rgb, labels, rng, num_classes)
    else:  # photometric jitter
        gain = rng.uniform(0.8, 1.2) * rng.uniform(0.95, 1.05, 3)
        rgb = np.clip(rgb.astype(np.float32) * gain + rng.uniform(-10, 10), 0, 255).astype(np.uint8)
        if appearance == "corrupt":
            rgb = corruptions(rgb.astype(np.float32), rng)
    if rng.random() < 0.5:  # mirror the whole scene
        rgb, labels, depth = rgb[:, ::-1], labels[:, ::-1], depth[:, ::-1]
        prior = None if prior is None else prior[:, ::-1]
    return (np.ascontiguousarray(rgb), None if prior is None else np.ascontiguousarray(prior),
            np.ascontiguousarray(labels), np.ascontiguousarray(depth))


APPEARANCE_AUGMENTATIONS = ("basic", "corrupt", "wide", "chroma")


def chroma_appearance(rgb: np.ndarray, labels: np.ndarray, rng: np.random.Generator, num_classes: int) -> np.ndarray:
    """Brightness variation the way the renderer makes it, keeping each pixel's chromaticity (uint8
    HxWx3 in and out).

    The renderer's variations are all multiplicative: per-texture brightness (sim/textures.py, about
    +-10 % per class and trail), exposure 0.85..1.15 with +-4 % per channel (sim/camera.py) and
    shading by slopes and shadows (TinyRenderer: ambient + diffuse x shadow, times the texture
    colour). They change a class's brightness but hardly its channel ratios (G:R, B:G), the cue that
    tells grass ([0.35, 0.55, 0.20]: G/R 1.57) from deep grass ([0.22, 0.42, 0.12]: G/R 1.91) when
    brightness does not. So every factor here multiplies all three channels alike (only the colour
    balance differs per channel, +-2 %), and there is no additive offset, contrast or gamma (each
    shifts the channel ratios of dark textures):

    * per class (half the samples): each class's pixels scaled by 0.85..1.18 (log-uniform);
    * exposure 0.75..1.33 (log-uniform), colour balance +-2 % per channel;
    * a smooth illumination field (40 %): +-20 % over the image, as shading on slopes;
    * sensor noise sigma 1..4 (30 %), Gaussian blur (20 %).
    """
    h, w = labels.shape
    img = rgb.astype(np.float32)
    if rng.random() < 0.5:
        scale = np.exp(rng.uniform(np.log(0.85), np.log(1.18), num_classes + 1)).astype(np.float32)
        index = np.where(labels < num_classes, labels, num_classes).astype(np.intp)
        img = img * scale[index][..., None]
    gain = np.exp(rng.uniform(np.log(0.75), np.log(1.33))) * rng.uniform(0.98, 1.02, 3)
    img = img * gain.astype(np.float32)
    if rng.random() < 0.4:
        coarse = rng.uniform(-1.0, 1.0, (3, 4)).astype(np.float32)
        field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        img = img * (1.0 + 0.2 * np.clip(field, -1.0, 1.0))[..., None]
    if rng.random() < 0.2:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.0))
    if rng.random() < 0.3:
        img = img + rng.normal(0.0, rng.uniform(1.0, 4.0), img.shape).astype(np.float32)
    return np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))


def wide_appearance(rgb: np.ndarray, labels: np.ndarray, rng: np.random.Generator, num_classes: int) -> np.ndarray:
    """Appearance variation beyond the simulator's, then image corruptions (uint8 HxWx3 in and out).

    Colour changes keep each class's hue family (per-channel factors stay within a few per cent, as
    the simulator's tints do) and widen brightness: it is the cue that lighting, slopes facing or
    away from the sun and per-seed texture brightness make unreliable (deep grass and grass share
    one texture photo and differ mainly in colour), so the model must not lean on it alone.

    * per class (half the samples): each class's pixels get their own brightness 0.8..1.25 and a
      tint of +-3 % per channel (the per-seed texture colour jitter, wider);
    * exposure 0.6..1.6 (log-uniform), colour balance +-5 % per channel, offset +-12, contrast about
      the mean 0.7..1.3, gamma 0.85..1.2;
    * a smooth illumination field (40 %): +-25 % over the image, as shading on slopes and hills;
    * corruptions: Gaussian blur (20 %), motion blur (10 %), Gaussian noise sigma 2..8 (30 %),
      JPEG quality 30..90 (30 %).
    """
    h, w = labels.shape
    img = rgb.astype(np.float32)
    if rng.random() < 0.5:
        scale = np.exp(rng.uniform(np.log(0.8), np.log(1.25), num_classes + 1)).astype(np.float32)
        tint = rng.uniform(0.97, 1.03, (num_classes + 1, 3)).astype(np.float32)
        index = np.where(labels < num_classes, labels, num_classes).astype(np.intp)
        img = img * (scale[index][..., None] * tint[index])
    gain = np.exp(rng.uniform(np.log(0.6), np.log(1.6))) * rng.uniform(0.95, 1.05, 3)
    img = img * gain.astype(np.float32) + rng.uniform(-12, 12)
    mean = img.mean()
    img = mean + (img - mean) * rng.uniform(0.7, 1.3)
    if rng.random() < 0.4:
        coarse = rng.uniform(-1.0, 1.0, (3, 4)).astype(np.float32)
        field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        img = img * (1.0 + 0.25 * np.clip(field, -1.0, 1.0))[..., None]
    img = np.clip(img, 0, 255)
    img = 255.0 * (img / 255.0) ** rng.uniform(0.85, 1.2)
    return corruptions(img, rng)


def corruptions(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur (20 %), motion blur (10 %), Gaussian noise sigma 2..8 (30 %), JPEG quality 30..90
    (30 %) on a float32 HxWx3 image in 0..255; uint8 out."""
    if rng.random() < 0.2:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.3))
    if rng.random() < 0.1:
        size = int(rng.integers(3, 8))
        kernel = np.zeros((size, size), np.float32)
        if rng.random() < 0.5:
            kernel[size // 2, :] = 1.0 / size
        else:
            kernel[:, size // 2] = 1.0 / size
        img = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT)
    if rng.random() < 0.3:
        img = img + rng.normal(0.0, rng.uniform(2.0, 8.0), img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, data = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 91))])
        if ok:
            out = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)


def valid_depth(depth: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.isfinite(depth) & (depth > 0) & (depth <= 30.0) & (labels != IGNORE_LABEL)
