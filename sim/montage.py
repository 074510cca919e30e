"""One camera frame per walkable class with its label mask, as a single figure (docs/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pybullet

from sim.camera import IGNORE_LABEL, Camera, CameraFrame, load_camera_config
from sim.terrain import load_terrain_catalogue
from sim.trail import Trail, TrailSegment
from sim.trail_world import TrailGround
from sim.world import BoundClient

# display colours for label masks, by class name
CLASS_COLOURS = {
    "asphalt": (70, 70, 75), "concrete": (175, 175, 165), "gravel": (150, 125, 95), "pebbles": (200, 170, 120),
    "grass": (110, 190, 70), "deep_grass": (25, 100, 25), "mud": (100, 60, 30), "sand": (235, 210, 150),
    "bush": (20, 60, 20), "tree": (120, 75, 40), "rock": (128, 128, 128), "sky": (150, 195, 245),
}


def label_palette(class_names) -> np.ndarray:
    palette = np.zeros((256, 3), dtype=np.uint8)
    for i, name in enumerate(class_names):
        palette[i] = CLASS_COLOURS.get(name, (255, 0, 255))
    palette[IGNORE_LABEL] = (0, 0, 0)
    return palette


def render_class_view(terrain: str, seed: int = 0) -> CameraFrame:
    """The onboard camera's view from a standing robot 1 m into a trail of one terrain."""
    catalogue = load_terrain_catalogue()
    trail = Trail(f"montage_{terrain}", seed, (TrailSegment(terrain, 15.0),))
    ground = TrailGround(trail)
    client = pybullet.connect(pybullet.DIRECT)
    try:
        ground.build(BoundClient(client))
        camera = Camera(client, load_camera_config(), ground.body_labels, catalogue.label_id("sky"),
                        lighting_seed=seed)
        position = np.array([1.0, 0.0, ground.height_at(1.0) + 0.30])
        return camera.render(position, np.array([0.0, 0.0, 0.0, 1.0]), 0.0)
    finally:
        pybullet.disconnect(client)
        ground.close()


def make_montage(out: str | Path, seed: int = 0) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    catalogue = load_terrain_catalogue()
    palette = label_palette(catalogue.class_names)
    terrains = list(catalogue.walkable)
    fig, axes = plt.subplots(2, len(terrains), figsize=(2.2 * len(terrains), 4.4))
    for j, terrain in enumerate(terrains):
        frame = render_class_view(terrain, seed)
        axes[0, j].imshow(frame.rgb)
        axes[0, j].set_title(terrain, fontsize=10)
        axes[1, j].imshow(palette[frame.labels])
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("RGB")
    axes[1, 0].set_ylabel("labels")
    handles = [Patch(color=np.array(CLASS_COLOURS[n]) / 255, label=n) for n in catalogue.class_names]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
