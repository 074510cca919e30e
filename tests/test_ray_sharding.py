"""`semloco dataset --ray` and `semloco demonstrate --ray` on a real local Ray write what they write
without Ray: the same frame files, the same card, bags holding the same messages."""

import json
from dataclasses import replace as dataclass_replace
from pathlib import Path


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def card_without_timing(path: Path, timing_keys: tuple[str, ...]) -> dict:
    card = json.loads(path.read_text())
    return {k: v for k, v in card.items() if k not in timing_keys}


def test_a_dataset_made_on_ray_is_the_one_made_in_process(tmp_path):
    from semantic_locomotion.sweep import make_dataset_on_ray
    from sim.dataset import DatasetRequest, make_dataset

    request = DatasetRequest(tmp_path / "here", trails=3, frames_per_trail=3, seed=5, burst_frames=3)
    here = make_dataset(request)
    on_ray = make_dataset_on_ray(dataclass_replace(request, out=tmp_path / "ray"))
    assert here["frames"] == on_ray["frames"] == 9 and len(on_ray["trails"]) == 3 and on_ray["complete"]
    files_here, files_ray = folder_bytes(tmp_path / "here"), folder_bytes(tmp_path / "ray")
    assert files_here.keys() == files_ray.keys() and len(files_here) == 2 + 3 * 9
    different = [name for name in files_here if name != "dataset.json" and files_here[name] != files_ray[name]]
    assert not different
    assert (card_without_timing(tmp_path / "here" / "dataset.json", ("wall_time_s",))
            == card_without_timing(tmp_path / "ray" / "dataset.json", ("wall_time_s",)))


def bag_messages(bag: Path) -> list[tuple[str, int, object]]:
    """Topic, time and decoded message of each message (decoded: the CDR padding bytes rclpy writes
    are not initialised, so equal messages need not serialise to equal bytes)."""
    import importlib

    from rclpy.serialization import deserialize_message

    from semantic_locomotion.bag import read_bag

    def decode(m):
        package, _, name = m.type_name.split("/")
        return deserialize_message(m.data, getattr(importlib.import_module(f"{package}.msg"), name))

    return [(m.topic, m.time_ns, decode(m)) for m in read_bag(bag)]


def test_demonstrations_recorded_on_ray_are_the_ones_recorded_in_process(tmp_path):
    from semantic_locomotion.sweep import record_demonstrations_on_ray
    from sim.demo_recording import record_demonstrations

    # 3 s episodes until 5 s of walking: two episodes, the Ray run (two CPUs) starts a third it must not keep
    here = record_demonstrations(tmp_path / "here", 5 / 60, seed=2, max_walk_s=3.0)
    on_ray = record_demonstrations_on_ray(tmp_path / "ray", 5 / 60, seed=2, max_walk_s=3.0)
    names = [Path(e["bag"]).name for e in here["episodes"]]
    assert names == ["episode_02_000", "episode_02_001"]
    assert [Path(e["bag"]).name for e in on_ray["episodes"]] == names
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == sorted([*names, "demonstrations.json"])
    for name in names:
        assert bag_messages(tmp_path / "here" / name) == bag_messages(tmp_path / "ray" / name)
    strip = lambda card: [{k: v for k, v in e.items() if k != "bag"} for e in card["episodes"]]
    assert strip(here) == strip(on_ray)
    timing = ("wall_minutes_last_run",)
    assert ({k: v for k, v in here.items() if k not in timing + ("episodes",)}
            == {k: v for k, v in on_ray.items() if k not in timing + ("episodes",)})
