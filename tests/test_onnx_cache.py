"""The ONNX export of the perception network is cached per checkpoint, and a damaged cache file is
replaced, not trusted."""

import numpy as np

from robot_perception.inference import TerrainPerception, onnx_cache_dir
from sim.trail_run import models_dir


def test_export_is_cached_and_a_damaged_cache_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMLOCO_CACHE_DIR", str(tmp_path))
    checkpoint = models_dir() / "terrain_net.pt"
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    first = TerrainPerception(checkpoint, threads=1)
    cached = list(onnx_cache_dir().glob("*.onnx"))
    assert len(cached) == 1 and cached[0].stat().st_size > 100_000
    assert not list(onnx_cache_dir().glob("*.tmp"))
    second = TerrainPerception(checkpoint, threads=1)  # from the cache
    torch_run = TerrainPerception(checkpoint, backend="torch", threads=1)
    a, b, c = first.process(image), second.process(image), torch_run.process(image)
    np.testing.assert_array_equal(a.embedding, b.embedding)
    np.testing.assert_allclose(a.embedding, c.embedding, atol=1e-4)
    cached[0].write_bytes(b"not an onnx model")
    third = TerrainPerception(checkpoint, threads=1)
    np.testing.assert_array_equal(third.process(image).embedding, a.embedding)
    assert cached[0].stat().st_size > 100_000  # rewritten
