"""Command-line wiring of the TUI, called from ``simplextui.cli`` (which owns the parser).

    simplextui [--data-dir DIR] [--server ADDRESS ...]    the app
    simplextui demo [--data-dir DIR] [--speed X]           the app with scripted peers

Textual is imported only when the app runs, so the other sub-commands stay light. Logs go to
``<data dir>/simplextui.log`` (the terminal belongs to the app).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from simplextui.cli_args import server_address_arg
from simplextui.protocol.address import ServerAddress

__all__ = ["add_tui_arguments", "run_app", "run_demo", "run_from_args"]

LOG_FILE = "simplextui.log"


def add_tui_arguments(parser: argparse.ArgumentParser,
                      commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Options of the app (on the top-level parser) and the ``demo`` sub-command."""
    parser.add_argument("--data-dir", type=Path, default=None, dest="app_data_dir", metavar="DIR",
                        help="where the app keeps its database (default: the user data "
                             "dir's 'client' folder, as headless mode)")
    parser.add_argument("--server", type=server_address_arg, action="append", default=[],
                        dest="app_servers", metavar="ADDRESS",
                        help="queue server smp://FINGERPRINT@HOST:PORT (repeatable; default: "
                             "the settings, else an embedded server)")
    parser.add_argument("--log-level", default="warning", dest="app_log_level",
                        choices=["debug", "info", "warning", "error"],
                        help="level of the log file in the data dir")
    demo = commands.add_parser(
        "demo", help="try the app with scripted peers (an embedded server in this process)",
        description="Open the app with an embedded queue server and scripted peers (Alice, Bob, "
                    "Carol) in the same process, already connected and chatting.")
    demo.add_argument("--data-dir", type=Path, default=None, dest="demo_dir", metavar="DIR",
                      help="keep the demo here (default: a temporary directory, removed at "
                           "exit)")
    demo.add_argument("--name", default="you", dest="demo_name", metavar="NAME",
                      help="your display name in the demo (default: you)")
    demo.add_argument("--speed", type=float, default=1.0, dest="demo_speed", metavar="X",
                      help="how fast the peers talk (2 = twice as fast)")


def _log_to_file(data_dir: Path, level: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(data_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())


def run_app(data_dir: Path, servers: list[ServerAddress], log_level: str = "warning",
            **options: Any) -> int:
    """Run the app until the user quits; the exit code."""
    from simplextui.tui.app import create_app

    _log_to_file(data_dir, log_level)
    app = create_app(data_dir, servers, **options)
    result = app.run()
    return int(result or 0)


def run_demo(root: Path | None, name: str = "you", speed: float = 1.0,
             log_level: str = "warning") -> int:
    """The app on ``root/you`` with scripted peers under ``root/peers``."""
    from simplextui.tui.demo import DemoPeers

    temporary = root is None
    base = Path(tempfile.mkdtemp(prefix="simplextui-demo-")) if root is None else root
    try:
        peers = DemoPeers(base / "peers", speed=speed)
        return run_app(base / "you", [], log_level, display_name=name, on_started=[peers],
                       settings_servers=False)
    finally:
        if temporary:
            logging.shutdown()
            shutil.rmtree(base, ignore_errors=True)


def run_from_args(args: argparse.Namespace, default_data_dir: Path) -> int:
    """``simplextui`` (no sub-command) or ``simplextui demo``."""
    if getattr(args, "command", None) == "demo":
        return run_demo(args.demo_dir, args.demo_name, args.demo_speed, args.app_log_level)
    return run_app(args.app_data_dir or default_data_dir, list(args.app_servers),
                   args.app_log_level)
