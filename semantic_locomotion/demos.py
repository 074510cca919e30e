"""`semloco demos`: recorded demonstrations -> (embedding, forward speed) training pairs.

Every bag under the folder (a rosbag2/MCAP directory, as `semloco demonstrate`, the recorder node
or `ros2 bag record -s mcap` make) is read in the order written. Each camera image is paired with
the forward speed of the most recent command on the command topic at or before the image's time
plus ``label_lag_s`` (the operator's reaction delay: the command that scene caused); images whose
label would come before the operator first moved, or after the last command, are dropped.
Images are run through the terrain perception model in order (its previous-mask prior carries
from frame to frame, as at run time) and its semantic embedding is stored; ``keep_images`` also
stores the RGB images (for a fine-tune of the embedding, which is not built yet).

The pairs file (NPZ) holds ``embedding`` (N, 64 + C) float32
(``robot_perception.model.embedding_vector``), ``speed_mps`` (N,), ``episode`` (N,) the index of the
bag each pair came from (validation splits are by episode, never by frame), ``time_s`` (N,),
``terrain`` (N,) where the bag has the simulator's /trail/terrain (analysis only), plus ``bags`` and
the perception checkpoint's SHA-256 the embeddings belong to. With a ground-pose model it also holds
the policy's other inputs of each frame (and the model's SHA-256, ``ground_pose_sha256``): ``pose``
(N, 5) (``locomotion.speed_policy.pose_input``: slope along, across, change, camera height, far
seen; zeros where no pose: no attitude reading or no ground in view) and
``depth_summary`` (N, 10) (``robot_perception.ground_pose.depth_summary``), from the frame's
``/camera/camera_info`` and the attitude of the latest ``/odom`` before it (the IMU's, as the
controller publishes it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from semantic_locomotion.bag import BagError, read_bag

IMAGE_TOPIC = "/camera/image_raw"
COMMAND_TOPIC = "/cmd_vel"
TERRAIN_TOPIC = "/trail/terrain"
CAMERA_INFO_TOPIC = "/camera/camera_info"
ODOM_TOPIC = "/odom"
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
    depth_summary: np.ndarray | None = None
    pose: np.ndarray | None = None
    ground_pose_sha256: str = ""  # of the ground-pose model that inferred ``pose`` ("" without)

    def features(self, inputs: tuple[str, ...]) -> np.ndarray:
        """The policy's input rows (``locomotion.speed_policy.policy_features``)."""
        from locomotion.speed_policy import policy_features

        if ("depth" in inputs or "pose" in inputs) and self.pose is None:
            raise ValueError("pairs: no depth or pose inputs; remake them with `semloco demos "
                             "--ground-pose-model models/ground_pose.pt`")
        return policy_features(inputs, self.embedding, self.depth_summary, self.pose)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        arrays = {"embedding": self.embedding, "speed_mps": self.speed_mps, "episode": self.episode,
                  "time_s": self.time_s, "terrain": self.terrain, "bags": np.array(self.bags),
                  "perception_sha256": np.array(self.perception_sha256),
                  "ground_pose_sha256": np.array(self.ground_pose_sha256)}
        for name in ("images", "depth_summary", "pose"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
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
                       data.get("images", None), data.get("depth_summary", None), data.get("pose", None),
                       str(data.get("ground_pose_sha256", "")))

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


def bag_pairs(bag: Path, image_topic: str = IMAGE_TOPIC, command_topic: str = COMMAND_TOPIC,
              label_lag_s: float = 0.0):
    """(time_s, rgb image, commanded forward speed, terrain or '', intrinsics or None, attitude xyzw or
    None) for each usable image of a bag: the intrinsics of the latest camera_info and the attitude
    of the latest odometry at or before the image.

    The label of an image at time t is the last command at or before t + ``label_lag_s``: an
    operator answers what they see after a reaction delay, so the command that image caused comes
    that much later. Images whose labelling command is not yet past the first move are dropped."""
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    from robot_perception.ros_images import image_to_array

    command_times, commands, images, terrain = [], [], [], ""
    intrinsics = attitude = None
    for message in read_bag(bag, {image_topic, command_topic, TERRAIN_TOPIC, CAMERA_INFO_TOPIC, ODOM_TOPIC}):
        if message.topic == command_topic:
            if message.type_name != "geometry_msgs/msg/Twist":
                raise BagError(f"{bag}: {command_topic} holds {message.type_name}, expected geometry_msgs/msg/Twist")
            command_times.append(message.time_ns)
            commands.append(float(deserialize_message(message.data, Twist).linear.x))
        elif message.topic == TERRAIN_TOPIC:
            terrain = deserialize_message(message.data, String).data
        elif message.topic == CAMERA_INFO_TOPIC:
            intrinsics = np.array(deserialize_message(message.data, CameraInfo).k, dtype=float).reshape(3, 3)
        elif message.topic == ODOM_TOPIC:
            q = deserialize_message(message.data, Odometry).pose.pose.orientation
            attitude = np.array([q.x, q.y, q.z, q.w])
        elif message.topic == image_topic:
            if message.type_name != "sensor_msgs/msg/Image":
                raise BagError(f"{bag}: {image_topic} holds {message.type_name}, expected sensor_msgs/msg/Image")
            images.append((message.time_ns, message.data, terrain, intrinsics, attitude))
    if not commands:
        return
    command_times = np.array(command_times)
    moving = np.flatnonzero(np.array(commands) > 0.05)
    if not len(moving):
        return
    first_move_ns = command_times[moving[0]]
    lag_ns = round(label_lag_s * 1e9)
    for time_ns, data, terrain, k, q in images:
        label_ns = time_ns + lag_ns
        index = int(np.searchsorted(command_times, label_ns, side="right")) - 1
        if index < 0 or label_ns < first_move_ns or (lag_ns > 0 and label_ns > command_times[-1]):
            continue  # before the first move, or a reaction the recording did not capture
        yield time_ns * 1e-9, image_to_array(deserialize_message(data, Image)), commands[index], terrain, k, q


def demos_to_pairs(folder: str | Path, perception_checkpoint: str | Path, keep_images: bool = False,
                   progress=None, label_lag_s: float = 0.0, ground_pose_checkpoint: str | Path | None = None
                   ) -> DemoPairs:
    import math

    from locomotion.speed_policy import pose_input
    from robot_perception.ground_pose import GroundPoseEstimator
    from robot_perception.inference import TerrainPerception
    from robot_perception.pointcloud import camera_up_vector
    from sim.camera import load_camera_config
    from sim.terrain import WALKABLE_CLASSES

    perception = TerrainPerception(perception_checkpoint, threads=2)
    estimator = GroundPoseEstimator(ground_pose_checkpoint) if ground_pose_checkpoint else None
    walkable_ids = [perception.class_names.index(c) for c in WALKABLE_CLASSES]
    mount_pitch = math.radians(load_camera_config().mount_pitch_deg)
    bags = find_bags(folder)
    rows: dict[str, list] = {"embedding": [], "speed": [], "episode": [], "time": [], "terrain": [], "image": [],
                             "pose": [], "depth": []}
    for index, bag in enumerate(bags):
        perception.reset()
        for t, image, speed, terrain, intrinsics, attitude in bag_pairs(bag, label_lag_s=label_lag_s):
            out = perception.process(image)
            if estimator is not None:
                up = None if attitude is None else camera_up_vector(attitude, mount_pitch)
                geometry = estimator.frame_geometry(out.depth_m, np.isin(out.labels, walkable_ids), intrinsics, up)
                rows["pose"].append(pose_input(geometry.pose_fields()))
                rows["depth"].append(geometry.summary_vector())
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
        depth_summary=np.stack(rows["depth"]) if estimator is not None else None,
        pose=np.stack(rows["pose"]) if estimator is not None else None,
        ground_pose_sha256=estimator.header["sha256"] if estimator is not None else "",
    )
