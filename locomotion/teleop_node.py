"""ROS 2 teleop nodes: ``joy_teleop`` (sensor_msgs/Joy on joy -> cmd_vel, dead-man button) and
``keyboard_teleop`` (the terminal's keys -> cmd_vel, repeated at publish_rate_hz).

    python -m locomotion.teleop_node joy        (with a joy driver publishing /joy)
    python -m locomotion.teleop_node keyboard   (in a terminal; keys in locomotion.teleop.KEY_HELP)
"""

from __future__ import annotations

import sys
import threading

from geometry_msgs.msg import Twist
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
    def __init__(self):
        super().__init__("keyboard_teleop")
        self.declare_parameter("config", "")
        config = load_teleop_config(self.get_parameter("config").value or None).keyboard
        self.teleop = KeyboardTeleop(config)
        self.pub = self.create_publisher(Twist, "cmd_vel", 10)
        self.create_timer(1.0 / config.publish_rate_hz, lambda: self.pub.publish(twist_of(self.teleop.command)))
        self.quit = threading.Event()
        threading.Thread(target=self.read_keys, daemon=True).start()
        print(KEY_HELP, file=sys.stderr)

    def read_keys(self) -> None:
        import termios
        import tty

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while not self.quit.is_set():
                command = self.teleop.press(sys.stdin.read(1))
                if command is None:
                    self.quit.set()
                    break
                self.pub.publish(twist_of(command))
                print(f"\rforward {command.forward_mps:4.1f} m/s  yaw rate {command.yaw_rate_radps:+4.1f} rad/s ",
                      end="", file=sys.stderr, flush=True)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            self.pub.publish(twist_of(VelocityCommand()))


def main(args: list[str] | None = None) -> int:
    """``args``: a full argv (program name first), optionally with 'joy' or 'keyboard' second."""
    argv = list(sys.argv if args is None else args)
    kind = argv.pop(1) if len(argv) > 1 and argv[1] in ("joy", "keyboard") else "joy"
    if kind == "joy":
        return spin_node(JoyTeleopNode, "joy_teleop", argv)
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    node = KeyboardTeleopNode()
    try:
        while rclpy.ok() and not node.quit.is_set():
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.pub.publish(twist_of(VelocityCommand()))
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def joy_main() -> int:
    return main([sys.argv[0], "joy", *sys.argv[1:]])


def keyboard_main() -> int:
    return main([sys.argv[0], "keyboard", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
