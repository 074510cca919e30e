"""Terrain textures: real photographs where the environment ships them (skimage.data grass and
gravel), procedural patterns elsewhere, tinted towards each class's base colour with per-seed
colour, contrast and crop variation so that a class is recognisable by texture, not mean colour.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from sim.terrain import Appearance


def fractal_noise(rng: np.random.Generator, size: int, octaves: int = 5, persistence: float = 0.55,
                  base_cells: int = 4, aspect: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Smooth value noise in [0, 1], shape (size, size)."""
    out = np.zeros((size, size))
    amplitude, total = 1.0, 0.0
    for octave in range(octaves):
        cells_y = max(2, int(base_cells * 2**octave * aspect[0]))
        cells_x = max(2, int(base_cells * 2**octave * aspect[1]))
        grid = rng.random((cells_y, cells_x))
        layer = ndimage.zoom(grid, (size / cells_y, size / cells_x), order=3, mode="wrap")[:size, :size]
        out += amplitude * layer
        total += amplitude
        amplitude *= persistence
    out /= total
    return (out - out.min()) / max(out.max() - out.min(), 1e-9)


def _photo(name: str, rng: np.random.Generator, size: int) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)().astype(float) / 255.0
    if image.ndim == 3:
        image = image.mean(axis=2)
    crop = min(image.shape[0], image.shape[1], int(size * rng.uniform(1.0, 1.8)))
    y = rng.integers(0, image.shape[0] - crop + 1)
    x = rng.integers(0, image.shape[1] - crop + 1)
    patch = image[y: y + crop, x: x + crop]
    patch = ndimage.zoom(patch, size / crop, order=1)[:size, :size]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return (patch - patch.min()) / max(patch.max() - patch.min(), 1e-9)


def _pebbles(rng: np.random.Generator, size: int) -> np.ndarray:
    """Packed rounded stones: distance to random centres, shaded per stone."""
    n = int(size * size / 180)
    centres = rng.random((n, 2)) * size
    shades = rng.uniform(0.3, 1.0, n)
    yy, xx = np.mgrid[0:size, 0:size]
    from scipy.spatial import cKDTree

    tree = cKDTree(centres, boxsize=size)
    dist, idx = tree.query(np.stack([yy.ravel(), xx.ravel()], axis=1) % size)
    dist = dist.reshape(size, size)
    rim = np.clip(dist / 7.0, 0, 1)
    return shades[idx].reshape(size, size) * (1.0 - 0.6 * rim**2)


def _gray(pattern: str, rng: np.random.Generator, size: int) -> np.ndarray:
    if pattern == "asphalt":
        fine = fractal_noise(rng, size, octaves=3, base_cells=48)
        speckle = (rng.random((size, size)) > 0.985).astype(float)
        return 0.35 + 0.4 * fine + 0.5 * ndimage.gaussian_filter(speckle, 0.7)
    if pattern == "concrete":
        base = 0.6 + 0.3 * fractal_noise(rng, size, octaves=4, base_cells=6)
        step = size // 2
        seams = np.ones((size, size))
        offset = rng.integers(0, step)
        seams[(np.arange(size) + offset) % step < 2, :] = 0.55
        seams[:, (np.arange(size) + offset) % step < 2] = 0.55
        return base * seams + 0.08 * fractal_noise(rng, size, octaves=2, base_cells=64)
    if pattern == "pebbles":
        return _pebbles(rng, size)
    if pattern == "mud":
        base = fractal_noise(rng, size, octaves=4, base_cells=3)
        puddles = ndimage.gaussian_filter((fractal_noise(rng, size, 3, base_cells=3) > 0.7).astype(float), 3)
        return 0.45 + 0.4 * base - 0.3 * puddles + 0.1 * fractal_noise(rng, size, 2, base_cells=40)
    if pattern == "sand":
        yy = np.mgrid[0:size, 0:size][0]
        warp = 6 * fractal_noise(rng, size, 3, base_cells=3)
        ripples = 0.5 + 0.5 * np.sin(2 * np.pi * (yy + warp * 4) / rng.uniform(14, 22))
        return 0.6 + 0.15 * ripples + 0.25 * fractal_noise(rng, size, 3, base_cells=64)
    if pattern == "bark":
        return 0.3 + 0.7 * fractal_noise(rng, size, octaves=4, base_cells=4, aspect=(0.25, 4.0))
    if pattern == "rock":
        base = fractal_noise(rng, size, octaves=5, base_cells=5)
        cracks = np.abs(fractal_noise(rng, size, 3, base_cells=6) - 0.5) < 0.02
        return 0.4 + 0.5 * base - 0.3 * ndimage.gaussian_filter(cracks.astype(float), 0.8)
    if pattern == "sky":
        yy = np.mgrid[0:size, 0:size][0] / size
        clouds = np.clip(fractal_noise(rng, size, 4, base_cells=3, aspect=(0.5, 1.5)) - 0.45, 0, 1) * 1.6
        return 0.75 + 0.2 * yy + clouds * 0.3
    raise ValueError(f"texture: unknown procedural pattern {pattern!r}")


def make_texture(appearance: Appearance, seed: int, size: int = 256) -> np.ndarray:
    """(size, size, 3) uint8 texture for a class, varied by ``seed``."""
    rng = np.random.default_rng(seed)
    kind, name = appearance.texture.split(":", 1)
    gray = _photo(name, rng, size) if kind == "skimage" else _gray(name, rng, size)
    gray = np.clip(gray, 0.0, 1.0)
    contrast = rng.uniform(0.8, 1.2)
    gray = np.clip(gray.mean() + (gray - gray.mean()) * contrast, 0.0, 1.0)
    # hue shifts stay small (a third of the jitter) so a class keeps its colour family
    tint = np.array(appearance.base_rgb) * (1.0 + rng.normal(0.0, appearance.jitter / 3, 3))
    brightness = 1.0 + rng.normal(0.0, appearance.jitter)
    # shading around the base colour: mean grey ~0.6 maps to about the base colour
    rgb = np.clip(tint[None, None, :] * (0.35 + 1.1 * gray[..., None]) * brightness, 0.0, 1.0)
    return (rgb * 255).astype(np.uint8)
