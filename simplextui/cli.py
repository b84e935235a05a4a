"""The `simplextui` command line: one entry point, a sub-command per mode."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from simplextui.cli_args import server_address_arg
from simplextui.server.config import DAY, ServerConfig
from simplextui.tui.cli_entry import add_tui_arguments, run_from_args

DEFAULT_SERVER_PORT = 5223


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("simplextui", appauthor=False))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simplextui", description="A private, end-to-end-encrypted terminal messenger.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    server = commands.add_parser("server", help="run a queue server",
                                 description="Run a store-and-forward queue server over HTTPS.")
    server.add_argument("--data-dir", type=Path, default=None,
                        help="where the server keeps its identity and database")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on")
    server.add_argument("--port", type=int, default=DEFAULT_SERVER_PORT,
                        help="port to listen on (0 picks a free one; default "
                             f"{DEFAULT_SERVER_PORT})")
    server.add_argument("--db", default=None, metavar="URL",
                        help="database URL, e.g. postgresql+psycopg://user@host/db "
                             "(default: SQLite in the data dir)")
    server.add_argument("--message-ttl", type=float, default=21 * DAY, metavar="SECONDS",
                        help="how long an undelivered message is kept (default 21 days)")
    server.add_argument("--expiry-interval", type=float, default=60.0, metavar="SECONDS",
                        help="how often expired messages are removed")
    server.add_argument("--quota", type=int, default=128, help="messages a queue can hold")
    server_commands = server.add_subparsers(dest="server_command", metavar="SUBCOMMAND")
    address = server_commands.add_parser("address", help="print the server's address")
    address.add_argument("--data-dir", type=Path, default=None, dest="address_data_dir")
    address.add_argument("--host", default=None, dest="address_host")
    address.add_argument("--port", type=int, default=None, dest="address_port")
    _add_headless_parser(commands)
    add_tui_arguments(parser, commands)
    return parser


def _add_headless_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    headless = commands.add_parser(
        "headless", help="run the chat client without a UI (JSON lines on stdout)",
        description="Read commands on stdin, one per line (the chat command language, or "
                    'JSON {"corrId": ..., "cmd": ...}); write one JSON object per line on '
                    "stdout. Without --server, a queue server runs embedded in the process.")
    headless.add_argument("--data-dir", type=Path, default=None,
                          help="where the client keeps its database (default: the user data "
                               "dir's 'client' folder)")
    headless.add_argument("--server", type=server_address_arg, action="append", default=[],
                          metavar="ADDRESS", dest="servers",
                          help="queue server smp://FINGERPRINT@HOST:PORT (repeatable)")
    headless.add_argument("--name", default=None,
                          help="display name (required on the first start)")
    headless.add_argument("--log-level", default="warning",
                          choices=["debug", "info", "warning", "error"],
                          help="log level on stderr (default: warning)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "server":
        from simplextui.server.main import print_address, run_server

        if args.server_command == "address":
            data_dir = args.address_data_dir or args.data_dir or default_data_dir() / "server"
            return print_address(data_dir, args.address_host, args.address_port)
        config = ServerConfig(
            data_dir=args.data_dir or default_data_dir() / "server", host=args.host,
            port=args.port, db_url=args.db, message_ttl=args.message_ttl,
            expiry_interval=args.expiry_interval, queue_quota=args.quota)
        return run_server(config)
    if args.command == "headless":
        from simplextui.headless import main as headless_main

        return headless_main(args.data_dir or default_data_dir() / "client", args.servers,
                             args.name, args.log_level)
    return run_from_args(args, default_data_dir() / "client")


if __name__ == "__main__":
    sys.exit(main())
