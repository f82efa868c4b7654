"""``orbitstream warehouse serve --data-dir DIR --port N``: the embedded ClickHouse server.

It listens on loopback unless ``--host`` says otherwise, and takes one user: ``--user``
(default ``default``) with the password in the environment variable
``CLICKHOUSE_PASSWORD`` (as clickhouse-server's image takes it; never on the command
line, where any local user could read it). No password set: the user needs none.

On SIGTERM/SIGINT it stops accepting, refuses new requests, finishes those in progress
(at most ``--drain-timeout`` seconds), closes chdb and exits with ``os._exit`` (exit_now): the
interpreter's own shutdown would tear chdb down under threads still inside it (seen as
a hang on a chdb mutex or a segfault).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

from infra.warehouse.auth import PASSWORD_ENV, UserCheck
from infra.warehouse.server import WarehouseServer


def serve(data_dir: Path, host: str, port: int, user: str, drain_timeout: float) -> int:
    """Serve until SIGTERM/SIGINT; 0 when every request in progress finished, else 1."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    users = UserCheck(user, os.environ.get(PASSWORD_ENV, ""))
    server = WarehouseServer(host, port, data_dir, users)

    def shutdown(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    print(f"serving ClickHouse HTTP on http://{host}:{server.server_address[1]} from {data_dir}", flush=True)
    server.serve_forever(poll_interval=0.2)
    clean = server.drain(drain_timeout)
    server.server_close()
    if clean:
        logging.getLogger(__name__).info("stopped: requests in progress finished, engine closed")
    else:
        logging.getLogger(__name__).warning(
            "stopped after %.0fs with a query still running: it was not acknowledged", drain_timeout
        )
    return 0 if clean else 1


def exit_now(code: int) -> NoReturn:
    """Leave without the interpreter's shutdown, which would tear chdb down under its threads."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
