"""The one `main()` every node of this package shares: init, spin, clean shutdown, clear errors."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


def spin_node(make_node: Callable[[], object], program: str, args: list[str] | None = None,
              finished: Callable[[object], bool] | None = None) -> int:
    """Create the node with ``make_node`` and spin it until Ctrl-C, SIGTERM or ``finished(node)``;
    configuration errors exit 2."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    # not rclpy's signal handler: it shuts the context down under the executor, which then fails at
    # a random point instead of stopping
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    # Ctrl-C / SIGINT and SIGTERM only ask the loop to stop (a node started in the background by a
    # non-interactive shell inherits SIGINT as ignored, so the handler is set explicitly). Raising
    # KeyboardInterrupt from the handler instead can land inside rclpy's C++ message take, where
    # pybind11 turns it into a RuntimeError and the node dies with a traceback and exit code 1.
    stop_signals: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _frame: stop_signals.append(received))
    node = None
    try:
        node = make_node()
        while rclpy.ok() and not stop_signals and not (finished is not None and finished(node)):
            rclpy.spin_once(node, timeout_sec=0.1)  # wakes up at least every 0.1 s to see a stop request
    except ExternalShutdownException:
        pass  # the context shut down from elsewhere
    except (ValueError, FileNotFoundError) as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return 2
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
