"""Conversions between sensor_msgs/Image (and PointCloud2) and numpy, with clear errors."""

from __future__ import annotations

import numpy as np

from robot_perception.inference import ImageError

ENCODINGS = {"rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "mono8": (np.uint8, 1), "32FC1": (np.float32, 1)}


def image_message(array: np.ndarray, encoding: str, stamp, frame_id: str):
    from sensor_msgs.msg import Image

    msg = Image()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    array = np.ascontiguousarray(array)
    msg.step = int(array.strides[0])
    msg.data = array.tobytes()
    return msg


def image_to_array(msg) -> np.ndarray:
    """An RGB uint8 array (for rgb8/bgr8), or the single channel (mono8, 32FC1)."""
    if msg.encoding not in ENCODINGS:
        raise ImageError(f"image: encoding {msg.encoding!r} not supported (use one of {', '.join(ENCODINGS)})")
    if msg.height == 0 or msg.width == 0 or len(msg.data) == 0:
        raise ImageError("image: empty")
    dtype, channels = ENCODINGS[msg.encoding]
    row_bytes = msg.width * channels * np.dtype(dtype).itemsize
    if msg.step < row_bytes or len(msg.data) < msg.step * msg.height:
        raise ImageError(f"image: {len(msg.data)} bytes do not hold {msg.height} rows of step {msg.step} "
                         f"for {msg.width}x{msg.height} {msg.encoding}")
    raw = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)[:, :row_bytes]
    array = raw.copy().view(dtype).reshape(msg.height, msg.width, channels)
    if msg.encoding == "bgr8":
        array = array[:, :, ::-1]
    return np.ascontiguousarray(array[:, :, 0] if channels == 1 else array)


def point_cloud_message(points: np.ndarray, stamp, frame_id: str):
    """sensor_msgs/PointCloud2 with float32 x, y, z fields."""
    from sensor_msgs.msg import PointCloud2, PointField

    msg = PointCloud2()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = 1, len(points)
    msg.fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1)
                  for i, n in enumerate("xyz")]
    msg.is_bigendian = False
    msg.point_step = 12
    msg.row_step = 12 * msg.width
    msg.is_dense = True
    msg.data = np.ascontiguousarray(points, dtype=np.float32).tobytes()
    return msg
