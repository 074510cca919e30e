"""Demonstrations on disk: rosbag2 bags with MCAP storage, written without rosbag2.

A bag is what `ros2 bag record -s mcap` makes: a directory ``NAME/`` holding ``NAME_0.mcap`` and
``metadata.yaml``. Messages are stored as CDR bytes (rclpy's own serialisation) on channels whose
schema is the message definition in rosbag2's ``ros2msg`` form (the ``.msg`` text followed by
every nested type's text, each under a ``MSG: pkg/Type`` line), so `ros2 bag info/play`, Foxglove
and other readers decode them without this package.

Nothing is lost when the recorder dies: every ``flush_period_s`` the open MCAP chunk is closed
and written, and ``metadata.yaml`` is atomically rewritten with the counts so far. A bag whose
writer was killed has every message up to its last flush and a matching metadata file; it lacks
only the MCAP summary section, which readers do not need (``ros2 bag reindex`` rebuilds it).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from pathlib import Path

import yaml

ROS2MSG_SEPARATOR = "=" * 80
BUILTIN_TYPES = {
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
    "int64", "uint64", "string", "wstring",
}
METADATA_VERSION = 5  # readable by every rosbag2 from Humble on


class BagError(ValueError):
    """A recording that cannot be written or read as asked."""


def _share_dirs() -> list[Path]:
    dirs = [Path(p) / "share" for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return dirs + [Path(sys.prefix) / "share"]


def msg_file(type_name: str) -> Path:
    """The installed ``.msg`` file of ``pkg/msg/Type``."""
    package, kind, name = _split_type(type_name)
    for share in _share_dirs():
        path = share / package / kind / f"{name}.msg"
        if path.is_file():
            return path
    raise BagError(f"message type {type_name!r}: no {package}/{kind}/{name}.msg under {_share_dirs()}")


def _split_type(type_name: str) -> tuple[str, str, str]:
    parts = type_name.split("/")
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or not all(parts):
        raise BagError(f"message type {type_name!r}: expected 'package/msg/Type'")
    return parts[0], parts[1], parts[2]


def _field_types(text: str, package: str) -> list[str]:
    """Nested message types (as pkg/msg/Type) used by the fields of one .msg text."""
    nested = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or "=" in line.replace("<=", ""):
            continue  # blank, comment or constant (NAME=value); "<=" only bounds a string or array
        base = re.sub(r"\[.*?\]", "", line.split()[0])
        base = re.sub(r"<=\d+$", "", base)
        if base in BUILTIN_TYPES:
            continue
        if base == "Header":
            base = "std_msgs/Header"
        if "/" not in base:
            base = f"{package}/{base}"
        nested.append("/".join(_split_type(base)))
    return nested


def ros2msg_definition(type_name: str) -> str:
    """The full message definition of ``type_name`` in rosbag2's ``ros2msg`` schema encoding."""
    root = "/".join(_split_type(type_name))
    texts, order, pending = {}, [], [root]
    while pending:
        current = pending.pop(0)
        if current in texts:
            continue
        texts[current] = msg_file(current).read_text()
        order.append(current)
        pending.extend(_field_types(texts[current], _split_type(current)[0]))
    parts = [texts[root].rstrip("\n")]
    for name in order[1:]:
        package, _, short = _split_type(name)
        parts.append(f"{ROS2MSG_SEPARATOR}\nMSG: {package}/{short}\n{texts[name].rstrip(chr(10))}")
    return "\n".join(parts) + "\n"


def message_type_name(msg) -> str:
    """``pkg/msg/Type`` of an rclpy message instance or class."""
    cls = msg if isinstance(msg, type) else type(msg)
    return f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"


@dataclasses.dataclass
class _Topic:
    channel_id: int
    type_name: str
    count: int = 0


class BagWriter:
    """Write one rosbag2/MCAP bag. Use as a context manager, or call ``close()``."""

    def __init__(self, path: str | Path, flush_period_s: float = 1.0, compression: str = "zstd",
                 chunk_size: int = 4 * 1024 * 1024):
        from mcap.writer import CompressionType, Writer

        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"bag: {self.path} already exists (choose a new name; nothing was overwritten)")
        kinds = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}
        if compression not in kinds:
            raise BagError(f"compression: expected one of {sorted(kinds)}, got {compression!r}")
        self.path.mkdir(parents=True)
        self.file_name = f"{self.path.name}_0.mcap"
        self._stream = open(self.path / self.file_name, "wb")
        self._writer = Writer(self._stream, chunk_size=chunk_size, compression=kinds[compression])
        self._writer.start(profile="ros2", library="semantic_locomotion")
        self._topics: dict[str, _Topic] = {}
        self._schemas: dict[str, int] = {}
        self.flush_period_s = flush_period_s
        self._last_flush = time.monotonic()
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.closed = False
        self._write_metadata()

    # --- writing -------------------------------------------------------------------------------
    def add_topic(self, topic: str, type_name: str) -> None:
        """Declare a topic (done implicitly by ``write_message``)."""
        topic = topic if topic.startswith("/") else "/" + topic
        if topic in self._topics:
            if self._topics[topic].type_name != type_name:
                raise BagError(f"topic {topic}: already recorded as {self._topics[topic].type_name}, "
                               f"not {type_name}")
            return
        if type_name not in self._schemas:
            self._schemas[type_name] = self._writer.register_schema(
                name=type_name, encoding="ros2msg", data=ros2msg_definition(type_name).encode())
        channel = self._writer.register_channel(
            topic=topic, message_encoding="cdr", schema_id=self._schemas[type_name],
            metadata={"offered_qos_profiles": ""})
        self._topics[topic] = _Topic(channel, type_name)

    def write(self, topic: str, type_name: str, data: bytes, time_ns: int) -> None:
        """Append one CDR-serialised message received at ``time_ns``."""
        if self.closed:
            raise BagError(f"bag {self.path}: already closed")
        topic = topic if topic.startswith("/") else "/" + topic
        self.add_topic(topic, type_name)
        entry = self._topics[topic]
        self._writer.add_message(channel_id=entry.channel_id, log_time=int(time_ns), data=bytes(data),
                                 publish_time=int(time_ns), sequence=entry.count)
        entry.count += 1
        self.first_ns = int(time_ns) if self.first_ns is None else min(self.first_ns, int(time_ns))
        self.last_ns = int(time_ns) if self.last_ns is None else max(self.last_ns, int(time_ns))
        if time.monotonic() - self._last_flush >= self.flush_period_s:
            self.flush()

    def write_message(self, topic: str, msg, time_ns: int) -> None:
        """Serialise an rclpy message and append it."""
        from rclpy.serialization import serialize_message

        self.write(topic, message_type_name(msg), serialize_message(msg), time_ns)

    def flush(self) -> None:
        """Put everything written so far on disk, readable, with a matching metadata.yaml."""
        self._writer.flush()
        os.fsync(self._stream.fileno())
        self._write_metadata()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self.closed:
            return
        self._writer.finish()
        self._stream.close()
        self.closed = True
        self._write_metadata()

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def message_count(self) -> int:
        return sum(t.count for t in self._topics.values())

    # --- metadata ------------------------------------------------------------------------------
    def _write_metadata(self) -> None:
        start = self.first_ns or 0
        duration = (self.last_ns - start) if self.last_ns is not None else 0
        info = {
            "version": METADATA_VERSION,
            "storage_identifier": "mcap",
            "duration": {"nanoseconds": duration},
            "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": self.message_count,
            "topics_with_message_count": [
                {"topic_metadata": {"name": name, "type": t.type_name, "serialization_format": "cdr",
                                    "offered_qos_profiles": ""},
                 "message_count": t.count}
                for name, t in self._topics.items()
            ],
            "compression_format": "",
            "compression_mode": "",
            "relative_file_paths": [self.file_name],
            "files": [{"path": self.file_name, "starting_time": {"nanoseconds_since_epoch": start},
                       "duration": {"nanoseconds": duration}, "message_count": self.message_count}],
        }
        tmp = self.path / "metadata.yaml.tmp"
        tmp.write_text(yaml.safe_dump({"rosbag2_bagfile_information": info}, sort_keys=False))
        os.replace(tmp, self.path / "metadata.yaml")


@dataclasses.dataclass
class BagMessage:
    topic: str
    type_name: str
    time_ns: int
    data: bytes


def _mcap_files(path: Path) -> list[Path]:
    files = sorted(path.glob("*.mcap")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise BagError(f"bag {path}: no .mcap file found")
    return files


def _stream_messages(stream):
    """(schema, channel, message) records of an MCAP stream from its start, stopping quietly at a
    torn tail (a writer killed mid-record); chunks are decompressed by the stream reader."""
    from mcap.exceptions import EndOfFile, InvalidMagic, McapError
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader

    schemas, channels = {}, {}
    try:
        for record in StreamReader(stream, skip_magic=False).records:
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Message):
                channel = channels[record.channel_id]
                yield schemas[channel.schema_id], channel, record
    except InvalidMagic as exc:
        raise BagError(f"not an MCAP file ({exc})") from exc
    except (EndOfFile, McapError, EOFError):
        return  # a torn tail: everything before it has been yielded


def read_bag(path: str | Path, topics: set[str] | None = None):
    """Yield the messages of a bag directory (or a bare .mcap file) in the order written.

    The file is streamed from its start, so a bag whose writer was killed (no summary section,
    perhaps a torn last record) yields every message that reached the disk.
    """
    for file in _mcap_files(Path(path)):
        with open(file, "rb") as stream:
            try:
                for schema, channel, message in _stream_messages(stream):
                    if topics is None or channel.topic in topics:
                        yield BagMessage(channel.topic, schema.name, message.log_time, message.data)
            except BagError as exc:
                raise BagError(f"bag {file}: {exc}") from exc


def reindex_bag(path: str | Path) -> int:
    """Rewrite a bag whose writer died into a complete one (summary and index), like
    `ros2 bag reindex`; returns the number of messages kept. Each file is replaced atomically."""
    from mcap.writer import Writer

    path = Path(path)
    count = 0
    for file in _mcap_files(path):
        tmp = file.with_suffix(".mcap.reindex")
        with open(file, "rb") as src, open(tmp, "wb") as dst:
            writer = Writer(dst)
            writer.start(profile="ros2", library="semantic_locomotion")
            schemas, channels = {}, {}
            for schema, channel, message in _stream_messages(src):
                if schema.id not in schemas:
                    schemas[schema.id] = writer.register_schema(schema.name, schema.encoding, schema.data)
                if channel.id not in channels:
                    channels[channel.id] = writer.register_channel(
                        channel.topic, channel.message_encoding, schemas[schema.id], channel.metadata)
                writer.add_message(channels[channel.id], message.log_time, message.data,
                                   message.publish_time, message.sequence)
                count += 1
            writer.finish()
        os.replace(tmp, file)
    return count
