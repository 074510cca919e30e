"""Teleoperation as researchers run it: a gamepad with a dead-man button, or the keyboard.

Plain classes (no ROS): ``JoyTeleop`` maps joystick axes to a twist while the dead-man button is
held and returns exactly one zero twist when it is released; ``KeyboardTeleop`` keeps a speed and
yaw rate that keys step up and down (space stops). ``locomotion.teleop_node`` wraps them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from locomotion.commands import VelocityCommand
from locomotion.config import config_dir, from_dict, load_yaml


@dataclasses.dataclass(frozen=True)
class JoyConfig:
    deadman_button: int = 4
    forward_axis: int = 1
    lateral_axis: int = 0
    yaw_axis: int = 3
    max_forward_mps: float = 1.5
    max_lateral_mps: float = 0.3
    max_yaw_rate_radps: float = 1.0
    deadzone: float = 0.05


@dataclasses.dataclass(frozen=True)
class KeyboardConfig:
    forward_step_mps: float = 0.1
    yaw_step_radps: float = 0.2
    max_forward_mps: float = 1.5
    max_yaw_rate_radps: float = 1.0
    publish_rate_hz: float = 10.0


@dataclasses.dataclass(frozen=True)
class TeleopConfig:
    joy: JoyConfig = JoyConfig()
    keyboard: KeyboardConfig = KeyboardConfig()


def load_teleop_config(path: str | Path | None = None) -> TeleopConfig:
    return from_dict(TeleopConfig, load_yaml(path or config_dir() / "teleop.yaml"))


class JoyTeleop:
    def __init__(self, config: JoyConfig):
        self.config = config
        self.engaged = False

    def _axis(self, axes, index: int, scale: float) -> float:
        value = float(axes[index]) if index < len(axes) and np.isfinite(axes[index]) else 0.0
        return 0.0 if abs(value) < self.config.deadzone else float(np.clip(value, -1.0, 1.0)) * scale

    def update(self, axes, buttons) -> VelocityCommand | None:
        """The twist to publish for one Joy message, or None to publish nothing.

        Held dead-man: the sticks' twist. Released: one zero twist, then nothing (so another
        source, or the controller's command timeout, takes over)."""
        c = self.config
        pressed = c.deadman_button < len(buttons) and bool(buttons[c.deadman_button])
        if pressed:
            self.engaged = True
            return VelocityCommand(self._axis(axes, c.forward_axis, c.max_forward_mps),
                                   self._axis(axes, c.lateral_axis, c.max_lateral_mps),
                                   self._axis(axes, c.yaw_axis, c.max_yaw_rate_radps))
        if self.engaged:
            self.engaged = False
            return VelocityCommand()
        return None


KEY_HELP = "w/s: faster/slower  a/d: turn left/right  space: stop  q: quit"


class KeyboardTeleop:
    def __init__(self, config: KeyboardConfig):
        self.config = config
        self.forward = 0.0
        self.yaw_rate = 0.0

    def press(self, key: str) -> VelocityCommand | None:
        """Apply one key; returns the new twist, or None for 'q' (quit). Other keys change nothing."""
        c = self.config
        if key == "q":
            return None
        if key == "w":
            self.forward = min(self.forward + c.forward_step_mps, c.max_forward_mps)
        elif key == "s":
            self.forward = max(self.forward - c.forward_step_mps, 0.0)
        elif key == "a":
            self.yaw_rate = min(self.yaw_rate + c.yaw_step_radps, c.max_yaw_rate_radps)
        elif key == "d":
            self.yaw_rate = max(self.yaw_rate - c.yaw_step_radps, -c.max_yaw_rate_radps)
        elif key == " ":
            self.forward, self.yaw_rate = 0.0, 0.0
        self.forward, self.yaw_rate = round(self.forward, 6), round(self.yaw_rate, 6)
        return self.command

    @property
    def command(self) -> VelocityCommand:
        return VelocityCommand(self.forward, 0.0, self.yaw_rate)
