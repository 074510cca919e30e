"""`semloco train perception`: trains, resumes where it stopped, fine-tunes from a checkpoint,
and mixes datasets (e.g. the boulder set with the main one)."""

import json

import pytest

from robot_perception.checkpoint import load_checkpoint
from robot_perception.data import concatenate_frames, load_frames
from robot_perception.train import TrainConfig, train
from sim.dataset import DatasetRequest, make_dataset, walk_end_m, with_boulders
from sim.trail import random_trail


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_dataset(DatasetRequest(root / "plain", trails=1, frames_per_trail=4, seed=5))
    make_dataset(DatasetRequest(root / "boulders", trails=1, frames_per_trail=4, seed=6, boulders=True))
    return root / "plain", root / "boulders"


def test_boulder_trails_close_the_walking_line():
    trail = with_boulders(random_trail(3), 3)
    side, closing = trail.obstacles[:-1], trail.obstacles[-1]
    for ob in side:  # beside the walking line, clear of the robot's legs
        assert abs(ob.lateral_m) - ob.size_m / 2 >= 0.45 - 1e-9
    assert abs(closing.lateral_m) < 0.3 and closing.at_m > trail.length_m - 1.0
    assert walk_end_m(trail) == pytest.approx(closing.at_m - 1.0)


def test_train_resume_and_mix(datasets, tmp_path):
    plain, boulders = datasets
    card = json.loads((boulders / "dataset.json").read_text())
    assert card["boulders"] and card["trails"][0]["obstacles"]
    mixed = concatenate_frames([load_frames(plain), load_frames(boulders)])
    assert len(mixed) == 8 and len(set(mixed.trail.tolist())) == len(set(load_frames(plain).trail.tolist())) + len(
        set(load_frames(boulders).trail.tolist()))
    out = tmp_path / "net.pt"
    config = TrainConfig((plain, boulders), out, max_steps=3, batch_size=2, threads=1, save_every=2, minutes=10)
    report = train(config, progress=False)
    assert report["steps"] == 3
    _model, header = load_checkpoint(out)
    assert header["train_frames"] == 8 and header["trained_steps"] == 3
    again = train(TrainConfig((plain, boulders), out, max_steps=5, batch_size=2, threads=1, minutes=10),
                  progress=False)
    assert again["steps"] == 5  # resumed at step 3, did 2 more
    history = json.loads(out.with_name(out.name + ".train.json").read_text())["history"]
    assert [h["step"] for h in history] == sorted(h["step"] for h in history)


def test_fine_tune_from_a_checkpoint(datasets, tmp_path):
    plain, boulders = datasets
    base = tmp_path / "base.pt"
    train(TrainConfig(plain, base, max_steps=2, batch_size=2, threads=1, minutes=10), progress=False)
    tuned = tmp_path / "tuned.pt"
    report = train(TrainConfig(boulders, tuned, max_steps=2, batch_size=2, threads=1, minutes=10, init=base),
                   progress=False)
    assert report["steps"] == 2
    assert load_checkpoint(tuned)[1]["init"] == str(base)
    with pytest.raises(ValueError, match="use_previous_mask"):
        train(TrainConfig(boulders, tmp_path / "x.pt", max_steps=1, batch_size=2, threads=1, init=base,
                          use_previous_mask=False), progress=False)


def test_own_prediction_prior(datasets, tmp_path):
    """With own_prediction = 1 every previous-frame prior is the model's own labels of that frame (what
    it will get at run time), computed without disturbing training mode; training runs with a share."""
    import numpy as np

    from robot_perception.data import PriorMix, training_sample
    from robot_perception.model import TerrainNet
    from robot_perception.train import own_labels

    plain, _ = datasets
    frames = load_frames(plain)
    model = TerrainNet(len(frames.class_names), True)
    model.train()
    labels = own_labels(model, frames, 0, use_prior=True)
    assert labels.shape == frames.labels[0].shape and labels.dtype == np.uint8 and model.training
    assert labels.max() < len(frames.class_names)
    asked = []

    def predict(j):
        asked.append(j)
        return np.full(frames.labels[j].shape, 7, np.uint8)

    mix = PriorMix(empty=0.0, previous_frame=1.0, label_swaps=0.0, image_warp=0.0, own_prediction=1.0)
    i = next(k for k in range(len(frames)) if frames.previous_index(k) is not None)
    _rgb, prior, _labels, _depth = training_sample(frames, i, np.random.default_rng(0), mix, predict)
    assert asked == [i - 1] and np.all(prior == 7)
    with pytest.raises(ValueError, match="own-prior-share"):
        train(TrainConfig(plain, tmp_path / "bad.pt", max_steps=1, batch_size=2, threads=1, own_prior_share=1.5),
              progress=False)
    with pytest.raises(ValueError, match="own-prior-share: needs the previous-mask channel"):
        train(TrainConfig(plain, tmp_path / "bad2.pt", max_steps=1, batch_size=2, threads=1, own_prior_share=0.5,
                          use_previous_mask=False), progress=False)
    report = train(TrainConfig(plain, tmp_path / "own.pt", max_steps=2, batch_size=2, threads=1, minutes=10,
                               own_prior_share=0.5), progress=False)
    assert report["steps"] == 2 and load_checkpoint(tmp_path / "own.pt")[1]["own_prior_share"] == 0.5


def test_wide_appearance_augmentation(datasets, tmp_path):
    """The wide photometric augmentation keeps the image's shape and type, leaves the labels and depth
    as they are, is deterministic for a seed, varies brightness far more than hue, and is recorded in
    the checkpoint."""
    import numpy as np

    from robot_perception.data import PriorMix, training_sample, wide_appearance

    plain, _ = datasets
    frames = load_frames(plain)
    rgb, labels = frames.rgb[0], frames.labels[0]
    out = wide_appearance(rgb, labels, np.random.default_rng(3), len(frames.class_names))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out, wide_appearance(rgb, labels, np.random.default_rng(3), len(frames.class_names)))
    # a flat grey image of one class: brightness spreads widely, the channels stay close to each other
    grey, one_class = np.full((24, 32, 3), 120, np.uint8), np.zeros((24, 32), np.uint8)
    rng = np.random.default_rng(0)
    means = np.array([wide_appearance(grey, one_class, rng, 12).reshape(-1, 3).mean(0) for _ in range(200)])
    brightness = means.mean(1)
    assert brightness.max() / brightness.min() > 2.0
    assert np.percentile(np.abs(means / brightness[:, None] - 1.0), 95) < 0.12
    no_warp = PriorMix(image_warp=0.0)
    for k in range(4):  # without the geometric warp the targets are the frame's, perhaps mirrored
        _rgb, _prior, lab, dep = training_sample(frames, k, np.random.default_rng(k), no_warp, appearance="wide")
        mirrored = not np.array_equal(lab, frames.labels[k])
        assert np.array_equal(lab, frames.labels[k][:, ::-1] if mirrored else frames.labels[k])
        assert np.array_equal(dep, frames.depth[k][:, ::-1] if mirrored else frames.depth[k])
    # "corrupt": the basic jitter, then blur, noise and JPEG only (no per-class or wide brightness)
    corrupt = training_sample(frames, 0, np.random.default_rng(0), no_warp, appearance="corrupt")[0]
    assert corrupt.shape == rgb.shape and corrupt.dtype == np.uint8
    report = train(TrainConfig(plain, tmp_path / "wide.pt", max_steps=2, batch_size=2, threads=1, minutes=10,
                               appearance="wide"), progress=False)
    assert report["steps"] == 2 and load_checkpoint(tmp_path / "wide.pt")[1]["appearance_augmentation"] == "wide"
    with pytest.raises(ValueError, match="--appearance"):
        train(TrainConfig(plain, tmp_path / "bad.pt", max_steps=1, batch_size=2, threads=1, appearance="wild"),
              progress=False)


def test_chroma_appearance_keeps_channel_ratios():
    """The chroma augmentation varies brightness (per class, exposure, shading) but keeps each pixel's
    channel ratios (the grass / deep grass cue) within the few per cent of its colour balance; it is
    deterministic for a seed, leaves the targets alone and is a training_sample mode."""
    import numpy as np

    from robot_perception.data import APPEARANCE_AUGMENTATIONS, FrameSet, PriorMix, chroma_appearance, training_sample

    assert "chroma" in APPEARANCE_AUGMENTATIONS
    grass = np.array([0.35, 0.55, 0.20]) * 255 * 0.8
    deep = np.array([0.22, 0.42, 0.12]) * 255 * 0.8
    rgb = np.zeros((24, 32, 3), np.uint8)
    labels = np.zeros((24, 32), np.uint8)
    rgb[:, :16], rgb[:, 16:] = grass.astype(np.uint8), deep.astype(np.uint8)
    labels[:, :16], labels[:, 16:] = 4, 5
    out = chroma_appearance(rgb, labels, np.random.default_rng(3), 12)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out, chroma_appearance(rgb, labels, np.random.default_rng(3), 12))
    rng = np.random.default_rng(0)
    brightness, ratios = [], []
    for _ in range(200):
        img = chroma_appearance(rgb, labels, rng, 12).astype(float)
        g, d = img[:, :16].reshape(-1, 3).mean(0), img[:, 16:].reshape(-1, 3).mean(0)
        brightness.append(g.mean())
        ratios.append((g[1] / g[0], d[1] / d[0]))
    brightness, ratios = np.array(brightness), np.array(ratios)
    assert brightness.max() / brightness.min() > 1.6  # brightness spreads
    # G/R stays near each class's own (1.57, 1.91) and the two never overlap
    assert np.abs(ratios[:, 0] / (grass[1] / grass[0]) - 1).max() < 0.08
    assert np.abs(ratios[:, 1] / (deep[1] / deep[0]) - 1).max() < 0.08
    assert ratios[:, 0].max() < ratios[:, 1].min()
    frames = FrameSet(rgb[None], labels[None], np.ones((1, 24, 32), np.float32), np.zeros(1, int),
                      tuple(f"c{i}" for i in range(12)), {})
    _rgb, _prior, lab, dep = training_sample(frames, 0, np.random.default_rng(1), PriorMix(image_warp=0.0),
                                             appearance="chroma")
    assert _rgb.shape == rgb.shape and (np.array_equal(lab, labels) or np.array_equal(lab, labels[:, ::-1]))
    assert np.array_equal(dep, frames.depth[0])
