"""``orbitstream broker ...`` and ``orbitstream warehouse ...``: the local services by hand.

The broker outlives the command (its pid and address are kept in the work dir); the
warehouse serves in the foreground until SIGTERM/SIGINT.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

_WORKDIR = click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/kafka"),
    show_default=True,
)


@click.group()
def broker() -> None:
    """The local single-node KRaft broker (jars from `make setup`, or KAFKA_HOME)."""


@broker.command("start")
@_WORKDIR
@click.option("--port", type=int, default=None, help="Client port (default: a free one).")
@click.option("--timeout", type=float, default=90, show_default=True, help="Seconds to wait for readiness.")
def broker_start(workdir: Path, port: int | None, timeout: float) -> None:
    """Format the storage (first time only), start the broker detached, print its bootstrap address."""
    from infra.kafka.control import start

    home = os.environ.get("KAFKA_HOME")  # entry point: the one place this is read for the CLI
    sys.exit(start(workdir, port, Path(home) if home else None, timeout))


@broker.command("stop")
@_WORKDIR
@click.option("--timeout", type=float, default=30, show_default=True, help="Seconds before SIGKILL.")
def broker_stop(workdir: Path, timeout: float) -> None:
    """SIGTERM the broker's process group, wait, SIGKILL what is left."""
    from infra.kafka.control import stop

    sys.exit(stop(workdir, timeout))


@broker.command("status")
@_WORKDIR
def broker_status(workdir: Path) -> None:
    """Exit 0 running, 1 not answering, 3 stopped."""
    from infra.kafka.control import status

    sys.exit(status(workdir))


@click.group()
def warehouse() -> None:
    """The embedded ClickHouse warehouse (chdb over the ClickHouse HTTP interface)."""


@warehouse.command("serve")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/warehouse"))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8123, show_default=True)
@click.option(
    "--user", default="default", show_default=True, help="The one user (password: $CLICKHOUSE_PASSWORD)."
)
@click.option(
    "--drain-timeout", type=float, default=10.0, show_default=True, help="Seconds to finish requests on stop."
)
def warehouse_serve(data_dir: Path, host: str, port: int, user: str, drain_timeout: float) -> None:
    """Serve the ClickHouse HTTP interface over chdb until SIGTERM/SIGINT."""
    from infra.warehouse.serve import exit_now, serve

    exit_now(serve(data_dir, host, port, user, drain_timeout))
