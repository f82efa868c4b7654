"""``python -m infra.warehouse serve --data-dir DIR --port N``: the embedded ClickHouse server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from infra.warehouse.server import WarehouseServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.warehouse")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the ClickHouse HTTP interface over chdb")
    serve.add_argument("--data-dir", type=Path, default=Path("var/warehouse"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8123)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = WarehouseServer(args.host, args.port, args.data_dir)

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
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
