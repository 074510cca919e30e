"""The one `main()` every node of this package shares: init, spin, clean shutdown, clear errors."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


def spin_node(make_node: Callable[[], object], program: str, args: list[str] | None = None) -> int:
    """Create the node with ``make_node`` and spin it until Ctrl-C; configuration errors exit 2."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    # Python's own SIGINT handling (KeyboardInterrupt out of spin): rclpy's handler shuts the
    # context down under the executor, which then fails at a random point instead of stopping
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    # a node started in the background by a non-interactive shell inherits SIGINT as ignored;
    # Ctrl-C / SIGINT (and SIGTERM) must stop it all the same
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    node = None
    try:
        node = make_node()
        while rclpy.ok():
            rclpy.spin_once(node, timeout_sec=0.1)  # wakes up to let a KeyboardInterrupt through
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # Ctrl-C / SIGINT / SIGTERM, or the context shut down from elsewhere
    except (ValueError, FileNotFoundError) as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return 2
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
