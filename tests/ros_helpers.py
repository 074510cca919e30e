"""Helpers for tests that talk to nodes over real DDS on the loopback interface."""

import os
import subprocess
import sys
import time


def isolated_ros_env(domain_id: int) -> dict:
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["ROS_DOMAIN_ID"] = str(domain_id)
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_node(module: str, ros_args: list[str], env: dict, log_path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", module, "--ros-args", *ros_args]
    log = open(log_path, "w")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_node(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    if proc.poll() is None:
        proc.send_signal(subprocess.signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def spin_until(executor, predicate, timeout_s: float, tick=None) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if tick is not None:
            tick()
        executor.spin_once(timeout_sec=0.05)
        if predicate():
            return True
    return predicate()
