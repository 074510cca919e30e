"""Shared fixtures."""

import pytest

from tests.ros_helpers import isolated_ros_env


ROS_DOMAINS: dict[str, int] = {}


def pytest_collection_modifyitems(config, items):
    """Give each test with a ROS 2 context a DDS domain of its own, unique in the run. pytest.ini
    runs the suite on two pytest-xdist workers (one test file at a time each), so two such tests can
    run at once; every worker collects the same tests, so each gets the same numbering."""
    ros_tests = sorted(item.nodeid for item in items if "ros_context" in getattr(item, "fixturenames", ()))
    ROS_DOMAINS.clear()
    ROS_DOMAINS.update({nodeid: 100 + i for i, nodeid in enumerate(ros_tests)})


@pytest.fixture
def ros_context(request, monkeypatch):
    """A ROS 2 context on loopback in a domain of this test's own (and the env for its nodes)."""
    domain = ROS_DOMAINS[request.node.nodeid]
    env = isolated_ros_env(domain)
    for key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "RMW_IMPLEMENTATION"):
        monkeypatch.setenv(key, env[key])
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    yield env, context
    rclpy.shutdown(context=context)

