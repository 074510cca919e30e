"""`semloco melon`: camera poses and a neural field from a folder of unposed images.

Each step: the pose encoder predicts (lat, lon) for a batch of images; each pose is replicated
N times about the up axis (the modulo replicas); a random subset of pixels is rendered from every
replica; per image only the best-fitting replica's photometric (L2) error counts. Gradients flow
through that replica's rays into the encoder and into the field. At the end of this MELON stage
each image's pose is its encoder output moved to its best replica, rendered over the whole image
(written to OUT/poses_melon_stage.json). A refinement stage follows: those poses become per-image
parameters optimised with the field, and every ``search_every`` steps each image may jump to a
clearly better candidate pose under the current field: its N modulo replicas, each also moved by
+-30 deg in longitude and +-10 deg in latitude. With N = 1 the search is local and cannot turn a view
round; resolving a pseudo-symmetry is left to the modulo replicas, as in MELON.

Noisy images: the pixel noise sigma is estimated from the training images themselves (a robust
Laplacian-difference estimate, 0 for clean renders). The photometric loss is a Gaussian log-likelihood
whose weight falls as 1 / sigma^2, so a smoothness prior on the colour grid is weighted up by that
factor: total variation on the colour grid with weight tv_weight * (sigma / tv_noise_ref)^2, so that the
colour voxels cannot fit the noise (the density grid keeps its own weight: a density prior that strong
stops the coarse grid forming the object at all); and the pose encoder sees the images Gaussian-blurred
just enough to bring the noise down to ``encoder_noise_floor`` (sigma 0.5: a 2.8-pixel blur), so that
its features follow the object rather than the noise.

While the poses are being inferred (the MELON stage and the refinement) the colour grid's TV weight is
at least ``colour_tv_pose_stages`` also on clean images: a smooth colour field cannot explain a wrong
pose with view-specific colour detail, so the photometric error stays with the pose (xarm: 4.4 deg
without it, 1.6 deg with it). The polish stage, whose poses are final, drops it to the noise-based
weight (0 when clean) so the field can fit the detail the held-out views need.

An optional polish stage (``polish_steps``, 0 by default; the PyBullet benchmark uses 3000) keeps the
refined poses and trains the field alone at a finer grid, for novel views.

The run saves its full state to OUT/state.pt every ``save_every`` steps; running the same command
again resumes from it. OUT/poses.json maps each image name to {"latitude_deg", "longitude_deg"}.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from robot_perception.melon.data import read_image
from robot_perception.melon.encoder import PoseEncoder, downscale
from robot_perception.melon.field import GridField, pixel_rays, render_image, render_rays
from robot_perception.melon.poses import replicas

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


@dataclasses.dataclass
class MelonConfig:
    images: Path
    out: Path
    radius: float = 3.0
    fov_deg: float = 40.0
    modulo: int = 2
    steps: int = 1500  # the MELON stage (encoder + modulo loss)
    lat_range_deg: tuple[float, float] = (0.0, 75.0)
    batch_images: int = 8
    rays_per_image: int = 384
    samples_per_ray: int = 48
    grid_resolution: int = 48  # final resolution of the field
    # coarse to fine: (step, grid resolution) milestones; targets are blurred to match coarse grids
    resolution_schedule: tuple[tuple[int, int], ...] = ((0, 12), (500, 24), (1200, 48))
    field_lr: float = 0.08
    encoder_lr: float = 1e-3
    tv_weight: float = 0.01
    # noisy images (pixel noise sigma estimated by ``estimate_noise``): colour-grid TV with weight
    # tv_weight * (sigma / tv_noise_ref)^2; clean renders estimate 0: no change
    tv_noise_ref: float = 0.1
    # lower bound of that colour TV weight while poses are inferred (MELON stage and refinement); the
    # polish stage uses the noise-based weight alone. 0.25 is the noise-based weight at sigma = 0.5.
    colour_tv_pose_stages: float = 0.25
    # ... and the pose encoder sees them blurred down to this noise level (see MelonRun.encoder_input)
    encoder_noise_floor: float = 0.05
    init_spread: float = 1.0
    # our addition to MELON: keep the chosen cameras spread around the object (without it the
    # grid field collapses every view onto one pose within a few hundred steps). The prior is the
    # squared magnitude of the first ``uniformity_harmonics`` circular moments of the chosen
    # longitudes, all zero for a uniform spread; the first moment alone is also zero for two
    # opposite clusters, which is where duck seed 1 collapsed to with it.
    uniformity_weight: float = 1.0
    uniformity_harmonics: int = 4
    # refinement after the MELON stage: per-image poses initialised from the encoder's chosen
    # replicas, optimised with the field; every ``search_every`` steps each image may jump to a better
    # candidate pose (see search_candidates; latitude +-search_lat_deg)
    refine_steps: int = 6000
    refine_pose_lr: float = 0.01
    # field and pose learning rates decay exponentially over the refinement to this fraction, so that
    # the grid and the poses settle at the end instead of moving at a constant Adam step size
    refine_lr_decay: float = 0.1
    search_every: int = 150  # 0: no candidate search (an ablation: the modulo loss alone resolves symmetries)
    # polish after the refinement: the poses are final; the field alone trains ``polish_steps`` more at a
    # finer grid (trilinearly upsampled), with more samples per ray and the refinement's final learning rate
    polish_steps: int = 0
    polish_resolution: int = 64
    polish_samples_per_ray: int = 64
    # the candidates' longitudes: "replicas" = the pose's N modulo replicas (the modulo loss of the MELON
    # stage, kept as a periodic hard choice), each also shifted by +-search_local_deg; "longitudes" =
    # search_longitudes evenly spaced whatever N is (an ablation: a brute-force search that resolves
    # pseudo-symmetries without the modulo loss; with N = 4 and 30 deg the two coincide)
    search_candidates: str = "replicas"
    search_local_deg: float = 30.0
    search_longitudes: int = 12
    search_lat_deg: float = 10.0
    search_pixels: int = 256
    # a jump must gain this fraction of the spread of the candidates' errors (not a ratio of errors:
    # with noisy images every error carries the same noise floor, so a ratio would never allow one)
    search_margin: float = 0.1
    seed: int = 0
    threads: int = 2
    save_every: int = 250
    minutes: float | None = None  # optional wall-clock cap

    def __post_init__(self) -> None:
        if self.modulo < 1:
            raise ValueError(f"--modulo: must be at least 1, got {self.modulo}")
        if self.radius <= 1.0:
            raise ValueError(f"--radius: must be larger than the object (1.0), got {self.radius}")
        if not 5.0 <= self.fov_deg <= 120.0:
            raise ValueError(f"--fov-deg: must be in [5, 120], got {self.fov_deg}")
        if self.steps < 1:
            raise ValueError(f"--steps: must be positive, got {self.steps}")
        if self.search_candidates not in ("replicas", "longitudes"):
            raise ValueError(f"search_candidates: 'replicas' or 'longitudes', got {self.search_candidates!r}")


def noise_colour_tv(sigma: float, tv_weight: float = MelonConfig.tv_weight,
                    tv_noise_ref: float = MelonConfig.tv_noise_ref) -> float:
    """The colour-grid TV weight for images with pixel noise ``sigma``: tv_weight * (sigma / tv_noise_ref)^2,
    the factor by which the noise lowers the photometric likelihood's weight (0 for clean images)."""
    return tv_weight * (sigma / tv_noise_ref) ** 2


def load_image_folder(folder: str | Path) -> tuple[list[str], np.ndarray]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--images: {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"--images: {folder} is empty")
    not_images = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if not_images:
        raise ValueError(f"--images: {not_images[0]} is not a PNG or JPEG image")
    images = [read_image(p) for p in files]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        first = images[0].shape
        odd = next(p.name for p, im in zip(files, images) if im.shape != first)
        raise ValueError(f"--images: mixed sizes ({files[0].name} is {first[1]}x{first[0]}, {odd} differs); "
                         "all views must share one size")
    if images[0].shape[0] != images[0].shape[1]:
        raise ValueError(f"--images: square images expected, got {images[0].shape[1]}x{images[0].shape[0]}")
    return [p.name for p in files], np.stack(images)


def estimate_noise(images: np.ndarray) -> float:
    """Standard deviation of white pixel noise in (M, S, S, 3) images: the median absolute response to
    the Laplacian-difference kernel [[1,-2,1],[-2,4,-2],[1,-2,1]] (which cancels smooth image content and
    has norm 6), as a robust sigma. Object edges are too few to move the median: clean renders give 0."""
    x = images.astype(np.float32)
    response = (x[:, :-2, :-2] - 2 * x[:, :-2, 1:-1] + x[:, :-2, 2:]
                - 2 * x[:, 1:-1, :-2] + 4 * x[:, 1:-1, 1:-1] - 2 * x[:, 1:-1, 2:]
                + x[:, 2:, :-2] - 2 * x[:, 2:, 1:-1] + x[:, 2:, 2:])
    return float(1.4826 * np.median(np.abs(response)) / 6.0)


def candidate_longitude_offsets(config: MelonConfig) -> list[float]:
    """Longitude offsets (radians, the first 0) the refinement's pose search tries for each image: the N
    modulo replicas, each with its +-search_local_deg neighbours; or search_longitudes evenly spaced."""
    if config.search_candidates == "longitudes":
        return [2 * math.pi * j / config.search_longitudes for j in range(config.search_longitudes)]
    local = math.radians(config.search_local_deg)
    return [2 * math.pi * r / config.modulo + j * local for r in range(config.modulo)
            for j in ((0, -1, 1) if local > 0 else (0,))]


def circular_moments(angles: torch.Tensor, harmonics: int) -> torch.Tensor:
    """Sum over k = 1 .. harmonics of |mean(exp(i k angle))|^2: 0 for angles spread evenly."""
    k = torch.arange(1, harmonics + 1, dtype=angles.dtype)[:, None]
    return (torch.cos(k * angles).mean(-1) ** 2 + torch.sin(k * angles).mean(-1) ** 2).sum()


class MelonRun:
    def __init__(self, config: MelonConfig):
        self.config = config
        torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.names, images = load_image_folder(config.images)
        self.images = torch.from_numpy(images)  # (M, S, S, 3)
        self.size = images.shape[1]
        self.noise_sigma = estimate_noise(images)
        self.tv_density = config.tv_weight
        self.tv_colour = noise_colour_tv(self.noise_sigma, config.tv_weight, config.tv_noise_ref)  # polish stage
        self.tv_colour_pose_stages = max(self.tv_colour, config.colour_tv_pose_stages)
        small = downscale(self.encoder_input(images).clamp(0, 1))
        # standardise per pixel over the image set: the encoder sees how a view differs from the
        # others (mostly white background otherwise makes every view look alike to a random CNN)
        self.small = (small - small.mean(0, keepdim=True)) / (small.std(0, keepdim=True) + 0.05)
        self.focal = (self.size / 2) / math.tan(math.radians(config.fov_deg) / 2)
        self.field = GridField(self.resolution_at(0))
        self._targets = {}
        self.encoder = PoseEncoder(tuple(math.radians(x) for x in config.lat_range_deg),
                                   init_spread=config.init_spread)
        self.optimizer = self._make_optimizer()
        self.step = 0
        self.history: list[dict] = []
        self.chosen_replica = torch.zeros(len(self.names), dtype=torch.long)  # last best replica per image
        self.pose_lat: torch.nn.Parameter | None = None  # per-image poses of the refinement stage
        self.pose_lon: torch.nn.Parameter | None = None
        self.pose_optimizer = None
        self.melon_stage_poses: tuple[np.ndarray, np.ndarray] | None = None  # (lat, lon) at the stage's end
        self.state_path = Path(config.out) / "state.pt"
        if self.state_path.exists():
            self._resume()

    def encoder_input(self, images: np.ndarray) -> torch.Tensor:
        """The images the pose encoder sees: as they are if clean; if noisy, Gaussian-blurred just enough
        to bring the estimated noise down to ``encoder_noise_floor`` (white noise of sigma s blurred by a
        Gaussian of g pixels keeps sigma s / (2 sqrt(pi) g))."""
        if self.noise_sigma <= self.config.encoder_noise_floor:
            return torch.from_numpy(images)
        import cv2

        blur = self.noise_sigma / (2 * math.sqrt(math.pi) * self.config.encoder_noise_floor)
        return torch.from_numpy(np.stack([cv2.GaussianBlur(im, (0, 0), blur) for im in images]))

    def _make_optimizer(self) -> torch.optim.Adam:
        return torch.optim.Adam([
            {"params": self.field.parameters(), "lr": self.config.field_lr},
            {"params": self.encoder.parameters(), "lr": self.config.encoder_lr},
        ])

    def resolution_at(self, step: int) -> int:
        resolution = self.config.grid_resolution
        for milestone, res in self.config.resolution_schedule:
            if step >= milestone:
                resolution = min(res, self.config.grid_resolution)
        return resolution

    def targets(self) -> torch.Tensor:
        """Training images, blurred to the detail the current grid can hold."""
        res = self.field.density.shape[-1]
        if res not in self._targets:
            sigma = self.size / (2.0 * res)
            if sigma < 0.75:
                self._targets[res] = self.images
            else:
                import cv2

                blurred = np.stack([cv2.GaussianBlur(im, (0, 0), sigma) for im in self.images.numpy()])
                self._targets[res] = torch.from_numpy(blurred)
        return self._targets[res]

    def _grow_field(self, resolution: int) -> None:
        with torch.no_grad():
            density = torch.nn.functional.interpolate(self.field.density, size=(resolution,) * 3, mode="trilinear",
                                                      align_corners=True)
            colour = torch.nn.functional.interpolate(self.field.colour, size=(resolution,) * 3, mode="trilinear",
                                                     align_corners=True)
        self.field = GridField(resolution, self.field.bound)
        self.field.density.data.copy_(density)
        self.field.colour.data.copy_(colour)
        encoder_state = self.optimizer.state_dict()["state"]
        self.optimizer = self._make_optimizer()
        # keep the encoder's Adam moments; the field's restart at the new resolution
        new_state = self.optimizer.state_dict()
        n_field = len(list(self.field.parameters()))
        new_state["state"] = {k: v for k, v in encoder_state.items() if k >= n_field}
        self.optimizer.load_state_dict(new_state)

    def _resume(self) -> None:
        state = torch.load(self.state_path, map_location="cpu", weights_only=False)
        if state["names"] != self.names:
            raise ValueError(f"--out: {self.state_path} belongs to a run on other images; use a new --out")
        resolution = state["field"]["density"].shape[-1]
        if resolution != self.field.density.shape[-1]:
            self.field = GridField(resolution, self.field.bound)
            self.optimizer = self._make_optimizer()
        self.field.load_state_dict(state["field"])
        self.encoder.load_state_dict(state["encoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.history = state["step"], state["history"]
        if state.get("pose_lat") is not None:
            self._set_refined_poses(state["pose_lat"], state["pose_lon"])
        self.melon_stage_poses = state.get("melon_stage_poses")
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])

    def save(self) -> None:
        Path(self.config.out).mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name("state.pt.tmp")
        torch.save({"names": self.names, "field": self.field.state_dict(), "encoder": self.encoder.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "step": self.step, "history": self.history,
                    "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                    "pose_lat": None if self.pose_lat is None else self.pose_lat.detach(),
                    "pose_lon": None if self.pose_lon is None else self.pose_lon.detach(),
                    "melon_stage_poses": self.melon_stage_poses,
                    "config": {k: str(v) for k, v in dataclasses.asdict(self.config).items()}}, tmp)
        tmp.replace(self.state_path)

    def smoothness(self, polish: bool = False) -> torch.Tensor:
        """The field's total-variation prior: density, and colour with the weight of the stage (see
        MelonConfig.tv_noise_ref and colour_tv_pose_stages)."""
        loss = self.tv_density * self.field.total_variation()
        colour_weight = self.tv_colour if polish else self.tv_colour_pose_stages
        if colour_weight > 0:
            loss = loss + colour_weight * self.field.total_variation(self.field.colour)
        return loss

    def replica_errors(self, idx: np.ndarray, pixels: torch.Tensor, lat: torch.Tensor,
                       lon: torch.Tensor) -> torch.Tensor:
        """(B, N) mean squared error of each replica on the given pixels."""
        cfg = self.config
        lons = replicas(lon, cfg.modulo)  # (B, N)
        target = self.targets()[idx][:, pixels[:, 0], pixels[:, 1]]  # (B, P, 3)
        b, n = lons.shape
        origins, directions = pixel_rays(lat.repeat_interleave(n), lons.reshape(-1), cfg.radius, self.focal,
                                         self.size, pixels)
        rgb = render_rays(self.field, origins, directions, cfg.samples_per_ray, jitter=True)
        return ((rgb.reshape(b, n, -1, 3) - target[:, None]) ** 2).mean(dim=(2, 3))

    def train_step(self) -> dict:
        cfg = self.config
        resolution = self.resolution_at(self.step)
        if resolution != self.field.density.shape[-1]:
            self._grow_field(resolution)
        idx = self.rng.choice(len(self.names), size=min(cfg.batch_images, len(self.names)), replace=False)
        pixels = torch.from_numpy(self.rng.integers(0, self.size, (cfg.rays_per_image, 2)))
        lat_all, lon_all = self.encoder(self.small)  # the whole set: batch norm sees every view
        lat, lon = lat_all[idx], lon_all[idx]
        errors = self.replica_errors(idx, pixels, lat, lon)
        best, chosen = errors.min(dim=1)
        self.chosen_replica[torch.from_numpy(idx)] = chosen.detach()
        loss = best.mean() + self.smoothness()
        if cfg.uniformity_weight > 0:  # keep the chosen cameras spread around the object
            effective = lon_all + self.chosen_replica * (2 * math.pi / cfg.modulo)
            loss = loss + cfg.uniformity_weight * circular_moments(effective, cfg.uniformity_harmonics)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        mse = float(best.mean().detach())
        return {"step": self.step, "loss": mse, "psnr_batch": -10 * math.log10(max(mse, 1e-12))}

    @property
    def total_steps(self) -> int:
        return self.config.steps + self.config.refine_steps + self.config.polish_steps

    def _start_refinement(self) -> None:
        lat, lon = self.inferred_poses()
        self.melon_stage_poses = (lat.copy(), lon.copy())
        self._set_refined_poses(torch.from_numpy(lat).float(), torch.from_numpy(lon).float())

    def _set_refined_poses(self, lat: torch.Tensor, lon: torch.Tensor) -> None:
        self.pose_lat = torch.nn.Parameter(lat)
        self.pose_lon = torch.nn.Parameter(lon)
        self.pose_optimizer = torch.optim.Adam([self.pose_lat, self.pose_lon], lr=self.config.refine_pose_lr)

    def image_errors(self, idx: np.ndarray, pixels: torch.Tensor, lat: torch.Tensor, lon: torch.Tensor,
                     jitter: bool, samples: int | None = None) -> torch.Tensor:
        """(B,) mean squared error of each image rendered from one pose each."""
        cfg = self.config
        target = self.targets()[idx][:, pixels[:, 0], pixels[:, 1]]
        origins, directions = pixel_rays(lat, lon, cfg.radius, self.focal, self.size, pixels)
        rgb = render_rays(self.field, origins, directions, samples or cfg.samples_per_ray, jitter=jitter)
        return ((rgb - target) ** 2).mean(dim=(1, 2))

    def search_poses(self) -> int:
        """Move each image to its best candidate pose under the current field; returns how many moved."""
        cfg = self.config
        pixels = torch.from_numpy(self.rng.integers(0, self.size, (cfg.search_pixels, 2)))
        d_lat = math.radians(cfg.search_lat_deg)
        low, high = (math.radians(x) for x in cfg.lat_range_deg)
        offsets = candidate_longitude_offsets(cfg)
        moved = 0
        with torch.no_grad():
            for i in range(len(self.names)):
                lat0, lon0 = float(self.pose_lat[i]), float(self.pose_lon[i])
                lats = [min(max(lat0 + k * d_lat, low), high) for k in (-1, 0, 1)]
                cands = [(a, lon0 + d) for a in lats for d in offsets]
                lat_c = torch.tensor([c[0] for c in cands])
                lon_c = torch.tensor([c[1] for c in cands])
                idx = np.full(len(cands), i)
                errors = self.image_errors(idx, pixels, lat_c, lon_c, jitter=False)
                current = len(offsets)  # middle latitude, longitude offset 0
                best = int(errors.argmin())
                gain = float(errors[current]) - float(errors[best])
                if best != current and gain > cfg.search_margin * (float(errors.mean()) - float(errors[best])):
                    self.pose_lat[i] = lat_c[best]
                    self.pose_lon[i] = lon_c[best]
                    moved += 1
        return moved

    def refine_step(self) -> dict:
        """One refinement step (poses and field), or past ``refine_steps`` one polish step (field only)."""
        cfg = self.config
        if self.pose_lat is None:
            self._start_refinement()
        polish = self.step >= cfg.steps + cfg.refine_steps
        if not polish and cfg.search_every > 0 and (self.step - cfg.steps) % cfg.search_every == 0:
            self.search_poses()
        resolution = cfg.polish_resolution if polish else self.resolution_at(self.step)
        if resolution != self.field.density.shape[-1]:
            self._grow_field(resolution)
        decay = cfg.refine_lr_decay ** (min(self.step - cfg.steps, cfg.refine_steps) / max(cfg.refine_steps, 1))
        self.optimizer.param_groups[0]["lr"] = cfg.field_lr * decay
        self.pose_optimizer.param_groups[0]["lr"] = cfg.refine_pose_lr * decay
        idx = self.rng.choice(len(self.names), size=min(cfg.batch_images, len(self.names)), replace=False)
        pixels = torch.from_numpy(self.rng.integers(0, self.size, (cfg.rays_per_image, 2)))
        lat, lon = self.pose_lat[idx], self.pose_lon[idx]
        if polish:
            lat, lon = lat.detach(), lon.detach()
        errors = self.image_errors(idx, pixels, lat, lon, jitter=True,
                                   samples=cfg.polish_samples_per_ray if polish else cfg.samples_per_ray)
        loss = errors.mean() + self.smoothness(polish)
        self.optimizer.zero_grad(set_to_none=True)
        self.pose_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if not polish:
            self.pose_optimizer.step()
        self.step += 1
        mse = float(errors.mean().detach())
        return {"step": self.step, "loss": mse, "psnr_batch": -10 * math.log10(max(mse, 1e-12))}

    def run(self, progress: bool = True, on_record: Callable[[dict], None] | None = None,
            stop: Callable[[], bool] | None = None) -> bool:
        """Train to ``total_steps`` (or the wall-clock cap, or until ``stop()`` is true); every 25 steps
        the step's record goes to the history and to ``on_record``. True if all steps ran."""
        from tqdm import tqdm

        cfg = self.config
        start = time.perf_counter()
        with tqdm(total=self.total_steps, initial=self.step, desc="melon", unit="step", disable=not progress) as bar:
            while self.step < self.total_steps:
                if cfg.minutes is not None and time.perf_counter() - start > cfg.minutes * 60:
                    break
                if stop is not None and stop():
                    break
                record = self.train_step() if self.step < cfg.steps else self.refine_step()
                bar.update(1)
                if self.step % 25 == 0:
                    self.history.append(record)
                    bar.set_postfix(psnr=f"{record['psnr_batch']:.1f}")
                    if on_record is not None:
                        on_record(record)
                if self.step % cfg.save_every == 0:
                    self.save()
        self.save()
        return self.step >= self.total_steps

    def inferred_poses(self) -> tuple[np.ndarray, np.ndarray]:
        """Per image: the refined pose, or else the encoder pose moved to its best replica over the
        full image (radians)."""
        cfg = self.config
        if self.pose_lat is not None:
            lon = self.pose_lon.detach().numpy()
            return self.pose_lat.detach().numpy().copy(), (lon + math.pi) % (2 * math.pi) - math.pi
        rows, cols = torch.meshgrid(torch.arange(0, self.size, 2), torch.arange(0, self.size, 2), indexing="ij")
        pixels = torch.stack([rows.ravel(), cols.ravel()], -1)
        lats, lons = [], []
        with torch.no_grad():
            lat_all, lon_all = self.encoder(self.small)
            for start in range(0, len(self.names), 8):
                idx = np.arange(start, min(start + 8, len(self.names)))
                lat, lon = lat_all[idx], lon_all[idx]
                errors = self.replica_errors(idx, pixels, lat, lon)
                k = errors.argmin(dim=1)
                lats.append(lat.numpy())
                lons.append((lon + k * 2 * math.pi / cfg.modulo).numpy())
        lat, lon = np.concatenate(lats), np.concatenate(lons)
        return lat, (lon + math.pi) % (2 * math.pi) - math.pi

    def write_outputs(self) -> dict:
        out = Path(self.config.out)
        out.mkdir(parents=True, exist_ok=True)
        lat, lon = self.inferred_poses()
        poses = {name: {"latitude_deg": float(np.degrees(a)), "longitude_deg": float(np.degrees(b))}
                 for name, a, b in zip(self.names, lat, lon)}
        (out / "poses.json").write_text(json.dumps(poses, indent=1))
        if self.melon_stage_poses is not None:  # what the encoder + modulo loss alone inferred
            stage = {name: {"latitude_deg": float(np.degrees(a)), "longitude_deg": float(np.degrees(b))}
                     for name, a, b in zip(self.names, *self.melon_stage_poses)}
            (out / "poses_melon_stage.json").write_text(json.dumps(stage, indent=1))
        torch.save({"field": self.field.state_dict(), "radius": self.config.radius, "fov_deg": self.config.fov_deg,
                    "size": self.size, "grid_resolution": self.field.density.shape[-1]}, out / "field.pt")
        (out / "novel_views").mkdir(exist_ok=True)
        import cv2

        for lon_deg in range(0, 360, 45):
            image = render_image(self.field, math.radians(30.0), math.radians(lon_deg), self.config.radius,
                                 self.focal, self.size).numpy()
            cv2.imwrite(str(out / "novel_views" / f"lat30_lon{lon_deg:03d}.png"),
                        cv2.cvtColor((np.clip(image, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
        return poses
