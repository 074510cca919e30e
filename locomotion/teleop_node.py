"""ROS 2 teleop nodes: ``joy_teleop`` (sensor_msgs/Joy on joy -> cmd_vel, dead-man button) and
``keyboard_teleop`` (the terminal's keys -> cmd_vel, repeated at publish_rate_hz).

    python -m locomotion.teleop_node joy        (with a joy driver publishing /joy)
    python -m locomotion.teleop_node keyboard   (in a terminal; keys in locomotion.teleop.KEY_HELP)
"""

from __future__ import annotations

import sys
import threading

from geometry_msgs.msg import Twist
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import Joy

from locomotion.commands import VelocityCommand
from locomotion.teleop import KEY_HELP, JoyTeleop, KeyboardTeleop, load_teleop_config
from semantic_locomotion.ros_main import spin_node


def twist_of(command: VelocityCommand) -> Twist:
    msg = Twist()
    msg.linear.x, msg.linear.y, msg.angular.z = command.forward_mps, command.lateral_mps, command.yaw_rate_radps
    return msg


class JoyTeleopNode(Node):
    def __init__(self):
        super().__init__("joy_teleop")
        self.declare_parameter("config", "")
        self.teleop = JoyTeleop(load_teleop_config(self.get_parameter("config").value or None).joy)
        self.pub = self.create_publisher(Twist, "cmd_vel", 10)
        self.create_subscription(Joy, "joy", self.on_joy, 10)

    def on_joy(self, msg: Joy) -> None:
        command = self.teleop.update(list(msg.axes), list(msg.buttons))
        if command is not None:
            self.pub.publish(twist_of(command))


class KeyboardTeleopNode(Node):
    """Keys from standard input, which must be a terminal: it is put in cbreak mode (keys arrive one by one)
    while the node lives, and restored, with one zero twist sent, when it is destroyed however it stops
    ('q', end of input, Ctrl-C or SIGTERM)."""

    def __init__(self):
        import termios
        import tty

        super().__init__("keyboard_teleop")
        self.declare_parameter("config", "")
        config = load_teleop_config(self.get_parameter("config").value or None).keyboard
        if not sys.stdin.isatty():
            raise ValueError("standard input is not a terminal: run the keyboard teleop in one "
                             "(or use the joy teleop)")
        self.teleop = KeyboardTeleop(config)
        self.pub = self.create_publisher(Twist, "cmd_vel", 10)
        self.create_timer(1.0 / config.publish_rate_hz, lambda: self.pub.publish(twist_of(self.teleop.command)))
        self.quit = threading.Event()
        self._terminal = termios.tcgetattr(sys.stdin.fileno())
        tty.setcbreak(sys.stdin.fileno())
        threading.Thread(target=self.read_keys, daemon=True).start()
        print(KEY_HELP, file=sys.stderr)

    def read_keys(self) -> None:
        while not self.quit.is_set():
            key = sys.stdin.read(1)
            command = self.teleop.press(key) if key else None  # '' is the end of input
            if command is None:
                self.quit.set()
                break
            print(f"\rforward {command.forward_mps:4.1f} m/s  yaw rate {command.yaw_rate_radps:+4.1f} rad/s ",
                  end="", file=sys.stderr, flush=True)

    def destroy_node(self) -> None:
        import termios

        self.quit.set()
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._terminal)
        self.pub.publish(twist_of(VelocityCommand()))
        self.pub.wait_for_all_acked(Duration(seconds=0.5))  # the zero reaches reliable subscribers first
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """``args``: a full argv (program name first), optionally with 'joy' or 'keyboard' second."""
    argv = list(sys.argv if args is None else args)
    kind = argv.pop(1) if len(argv) > 1 and argv[1] in ("joy", "keyboard") else "joy"
    if kind == "joy":
        return spin_node(JoyTeleopNode, "joy_teleop", argv)
    return spin_node(KeyboardTeleopNode, "keyboard_teleop", argv, finished=lambda node: node.quit.is_set())


def joy_main() -> int:
    return main([sys.argv[0], "joy", *sys.argv[1:]])


def keyboard_main() -> int:
    return main([sys.argv[0], "keyboard", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
