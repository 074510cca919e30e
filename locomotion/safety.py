"""The last gate before the motors: nothing non-finite, no torque beyond the motor limit, no push
past a joint limit. Events are logged once per kind and counted, never per tick."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter

import numpy as np
from numba import njit

from locomotion.robot_model import RobotDescription

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SafetyConfig:
    joint_limit_margin_rad: float = 0.05
    joint_limit_stiffness_nm_per_rad: float = 150.0
    qp_failure_timeout_s: float = 0.1  # reuse the last good MPC plan this long, then damped stand
    damped_stand_kp: float = 40.0
    damped_stand_kd: float = 4.0
    max_tilt_rad: float = 1.0  # beyond this roll or pitch the robot is considered fallen


class EventLog:
    """Counts events by kind and logs only the first of each kind."""

    def __init__(self, logger: logging.Logger = log):
        self.counts: Counter[str] = Counter()
        self.logger = logger

    def record(self, kind: str, message: str) -> None:
        if self.counts[kind] == 0:
            self.logger.warning("%s: %s (further occurrences are counted, not logged)", kind, message)
        self.counts[kind] += 1


class SafetyFilter:
    def __init__(self, robot: RobotDescription, config: SafetyConfig, events: EventLog):
        self.config = config
        self.events = events
        self.torque_limits = robot.torque_limits
        self.lower, self.upper = robot.joint_limits
        self.stand_pose = robot.stand_pose
        margin = config.joint_limit_margin_rad
        self.low, self.high = self.lower + margin, self.upper - margin

    def damped_stand(self, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
        cfg = self.config
        q = np.where(np.isfinite(q), q, self.stand_pose)
        dq = np.where(np.isfinite(dq), dq, 0.0)
        return cfg.damped_stand_kp * (self.stand_pose - q) - cfg.damped_stand_kd * dq

    def filter(self, torques: np.ndarray, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
        """Safe torques for the motors (always finite, within limits)."""
        torques = np.asarray(torques, dtype=float)
        if not math.isfinite(float(torques.sum())) and not np.isfinite(torques).all():
            self.events.record("non_finite_torque", "controller produced a non-finite torque; damped stand")
            torques = self.damped_stand(q, dq)
        safe, pushed_back, clipped = limit_torques(torques, q, self.low, self.high,
                                                   self.config.joint_limit_stiffness_nm_per_rad, self.torque_limits)
        if pushed_back:
            self.events.record("joint_limit", "torque pushing a joint into its limit; replaced by a push back")
        if clipped:
            self.events.record("torque_limit", "torque command above the motor limit; clipped")
        return safe


@njit(cache=True)
def limit_torques(torques, q, low, high, stiffness, torque_limits):
    """(safe torques, whether a joint-limit push-back replaced a torque, whether a torque was clipped).

    Beyond a joint's margin-reduced limit the torque may not push further in: it is at least (below
    the lower limit) or at most (above the upper) stiffness x the distance back to the limit. Then
    every torque is clipped to the motor limit; a non-finite value becomes zero."""
    out = np.empty(torques.shape[0])
    pushed_back, clipped = False, False
    for j in range(torques.shape[0]):
        tau = torques[j]
        if q[j] < low[j]:
            limited = max(tau, stiffness * (low[j] - q[j]))
        elif q[j] > high[j]:
            limited = min(tau, stiffness * (high[j] - q[j]))
        else:
            limited = tau
        bounded = min(max(limited, -torque_limits[j]), torque_limits[j])
        if math.isfinite(tau):  # a non-finite torque is the caller's event, not these
            pushed_back = pushed_back or limited != tau
            clipped = clipped or bounded != limited
        out[j] = bounded if math.isfinite(bounded) else 0.0
    return out, pushed_back, clipped
