"""`semloco demos`: recorded demonstrations -> (embedding, forward speed) training pairs.

Every bag under the folder (a rosbag2/MCAP directory, as `semloco demonstrate`, the recorder node
or `ros2 bag record -s mcap` make) is read in the order written. Each camera image is paired with
the forward speed of the most recent command on the command topic at or before the image's time
(the operator's speed while looking at that scene); images before the first command, and images
while the operator stood still at the start, are dropped. Images are run through the terrain
perception model in order (its previous-mask prior carries from frame to frame, as at run time)
and its semantic embedding is stored; ``keep_images`` also stores the RGB images (for fine-tuning).

The pairs file (NPZ) holds ``embedding`` (N, 64) float32, ``speed_mps`` (N,), ``episode`` (N,) the
index of the bag each pair came from (validation splits are by episode, never by frame),
``time_s`` (N,), ``terrain`` (N,) where the bag has the simulator's /trail/terrain (analysis only),
plus ``bags`` and the perception checkpoint's SHA-256 the embeddings belong to.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from semantic_locomotion.bag import BagError, read_bag

IMAGE_TOPIC = "/camera/image_raw"
COMMAND_TOPIC = "/cmd_vel"
TERRAIN_TOPIC = "/trail/terrain"
PAIRS_FILE = "pairs.npz"


@dataclasses.dataclass
class DemoPairs:
    embedding: np.ndarray
    speed_mps: np.ndarray
    episode: np.ndarray
    time_s: np.ndarray
    terrain: np.ndarray
    bags: list[str]
    perception_sha256: str
    images: np.ndarray | None = None

    def save(self, path: str | Path) -> None:
        path = Path(path)
        arrays = {"embedding": self.embedding, "speed_mps": self.speed_mps, "episode": self.episode,
                  "time_s": self.time_s, "terrain": self.terrain, "bags": np.array(self.bags),
                  "perception_sha256": np.array(self.perception_sha256)}
        if self.images is not None:
            arrays["images"] = self.images
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> DemoPairs:
        path = Path(path)
        if path.is_dir():
            path = path / PAIRS_FILE
        if not path.is_file():
            raise BagError(f"pairs: {path} not found (make it with `semloco demos DIR`)")
        with np.load(path) as data:
            missing = [k for k in ("embedding", "speed_mps", "episode", "perception_sha256") if k not in data]
            if missing:
                raise BagError(f"pairs: {path} lacks {', '.join(missing)}; not a `semloco demos` file")
            return cls(data["embedding"], data["speed_mps"], data["episode"], data["time_s"], data["terrain"],
                       [str(b) for b in data["bags"]], str(data["perception_sha256"]),
                       data.get("images", None))

    @property
    def minutes(self) -> float:
        """Demonstration time covered (sum over episodes of first-to-last paired image)."""
        total = 0.0
        for e in np.unique(self.episode):
            t = self.time_s[self.episode == e]
            total += float(t.max() - t.min())
        return total / 60.0


def find_bags(folder: str | Path) -> list[Path]:
    """Bag directories (holding metadata.yaml or an .mcap) under ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BagError(f"demos: {folder} is not a folder")
    bags = sorted({p.parent for p in folder.rglob("*.mcap")})
    if not bags:
        raise BagError(f"demos: no bags (.mcap files) under {folder}")
    return bags


def bag_pairs(bag: Path, image_topic: str = IMAGE_TOPIC, command_topic: str = COMMAND_TOPIC):
    """(time_s, rgb image, commanded forward speed, terrain or '') for each usable image of a bag."""
    from geometry_msgs.msg import Twist
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image
    from std_msgs.msg import String

    from robot_perception.ros_images import image_to_array

    command, moving, terrain = None, False, ""
    for message in read_bag(bag, {image_topic, command_topic, TERRAIN_TOPIC}):
        if message.topic == command_topic:
            if message.type_name != "geometry_msgs/msg/Twist":
                raise BagError(f"{bag}: {command_topic} holds {message.type_name}, expected geometry_msgs/msg/Twist")
            command = float(deserialize_message(message.data, Twist).linear.x)
            moving = moving or command > 0.05
        elif message.topic == TERRAIN_TOPIC:
            terrain = deserialize_message(message.data, String).data
        elif message.topic == image_topic and command is not None and moving:
            if message.type_name != "sensor_msgs/msg/Image":
                raise BagError(f"{bag}: {image_topic} holds {message.type_name}, expected sensor_msgs/msg/Image")
            image = image_to_array(deserialize_message(message.data, Image))
            yield message.time_ns * 1e-9, image, command, terrain


def demos_to_pairs(folder: str | Path, perception_checkpoint: str | Path, keep_images: bool = False,
                   progress=None) -> DemoPairs:
    from robot_perception.inference import TerrainPerception

    perception = TerrainPerception(perception_checkpoint, threads=2)
    bags = find_bags(folder)
    rows: dict[str, list] = {"embedding": [], "speed": [], "episode": [], "time": [], "terrain": [], "image": []}
    for index, bag in enumerate(bags):
        perception.reset()
        for t, image, speed, terrain in bag_pairs(bag):
            out = perception.process(image)
            rows["embedding"].append(out.embedding)
            rows["speed"].append(speed)
            rows["episode"].append(index)
            rows["time"].append(t)
            rows["terrain"].append(terrain)
            if keep_images:
                rows["image"].append(image)
            if progress is not None:
                progress(1)
    if not rows["speed"]:
        raise BagError(f"demos: no (image, command) pairs in {len(bags)} bag(s) under {folder}: need "
                       f"{IMAGE_TOPIC} (sensor_msgs/Image) and {COMMAND_TOPIC} (geometry_msgs/Twist)")
    return DemoPairs(
        embedding=np.stack(rows["embedding"]).astype(np.float32),
        speed_mps=np.array(rows["speed"], dtype=np.float32),
        episode=np.array(rows["episode"], dtype=np.int32),
        time_s=np.array(rows["time"]),
        terrain=np.array(rows["terrain"]),
        bags=[str(b) for b in bags],
        perception_sha256=perception.header["sha256"],
        images=np.stack(rows["image"]) if keep_images else None,
    )
