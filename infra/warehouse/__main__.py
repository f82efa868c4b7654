"""``python -m infra.warehouse serve --data-dir DIR --port N``: the embedded ClickHouse server.

It listens on loopback unless ``--host`` says otherwise, and takes one user: ``--user``
(default ``default``) with the password in the environment variable
``CLICKHOUSE_PASSWORD`` (as clickhouse-server's image takes it; never on the command
line, where any local user could read it). No password set: the user needs none.

On SIGTERM/SIGINT it stops accepting, refuses new requests, finishes those in progress
(at most ``--drain-timeout`` seconds), closes chdb and exits with ``os._exit``: the
interpreter's own shutdown would tear chdb down under threads still inside it (seen as
a hang on a chdb mutex or a segfault).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from infra.warehouse.auth import PASSWORD_ENV, UserCheck
from infra.warehouse.server import WarehouseServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.warehouse")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the ClickHouse HTTP interface over chdb")
    serve.add_argument("--data-dir", type=Path, default=Path("var/warehouse"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8123)
    serve.add_argument("--user", default="default", help="the one user (password: $CLICKHOUSE_PASSWORD)")
    serve.add_argument(
        "--drain-timeout", type=float, default=10.0, help="seconds to finish requests in progress on stop"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    users = UserCheck(args.user, os.environ.get(PASSWORD_ENV, ""))
    server = WarehouseServer(args.host, args.port, args.data_dir, users)

    def shutdown(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    print(
        f"serving ClickHouse HTTP on http://{args.host}:{server.server_address[1]} from {args.data_dir}",
        flush=True,
    )
    server.serve_forever(poll_interval=0.2)
    clean = server.drain(args.drain_timeout)
    server.server_close()
    if clean:
        logging.getLogger(__name__).info("stopped: requests in progress finished, engine closed")
    else:
        logging.getLogger(__name__).warning(
            "stopped after %.0fs with a query still running: it was not acknowledged", args.drain_timeout
        )
    return 0 if clean else 1


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
