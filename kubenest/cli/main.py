"""The `kubenest` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable

from kubenest.server.runtime import Server, ServerConfig, default_home


def cmd_up(args: argparse.Namespace) -> int:
    data_dir = os.path.abspath(args.data_dir or default_home())
    config = ServerConfig(data_dir=data_dir, address=args.address, port=args.port, log_level=args.log_level)
    try:
        server = Server(config)
    except OSError as e:
        print(f"kubenest: cannot use data directory {data_dir}: {e}", file=sys.stderr)
        return 1

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started.is_set() and not task.done():
            await asyncio.sleep(0.01)
        if server.started.is_set():
            kubeconfig = os.path.join(data_dir, "admin.kubeconfig")
            print(f"kubenest is up at {server.url()} - connect with: export KUBECONFIG={kubeconfig}",
                  flush=True)
        await task

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run())
    except OSError as e:
        print(f"kubenest: cannot listen on {args.address}:{args.port}: {e.strerror or e}. "
              "Is another server running there? Choose another --port.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop

        return uvloop.new_event_loop
    except ImportError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubenest", description="Virtual Kubernetes clusters in milliseconds.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the kubenest API server in the foreground")
    up.add_argument("--data-dir", default=None, help="where data lives (default: $KUBENEST_HOME or ~/.kubenest)")
    up.add_argument("--port", type=int, default=6443)
    up.add_argument("--address", default="127.0.0.1")
    up.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    up.set_defaults(func=cmd_up)
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(levelname)s %(name)s: %(message)s")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
