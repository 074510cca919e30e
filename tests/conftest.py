"""Shared fixtures."""

import zlib

import pytest

from tests.ros_helpers import isolated_ros_env


@pytest.fixture
def ros_context(request, monkeypatch):
    """A ROS 2 context on loopback in a domain of this test's own (and the env for its nodes)."""
    domain = 100 + zlib.crc32(request.node.nodeid.encode()) % 100
    env = isolated_ros_env(domain)
    for key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "RMW_IMPLEMENTATION"):
        monkeypatch.setenv(key, env[key])
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    yield env, context
    rclpy.shutdown(context=context)
