"""``orbitstream sink ...``: run the sink, apply migrations, replay dead letters."""

from __future__ import annotations

import logging

import click
import clickhouse_connect
from rich.console import Console

from infra.settings import Settings


def warehouse_client(settings: Settings, database: str | None = None) -> object:
    wh = settings.warehouse
    return clickhouse_connect.get_client(
        host=wh.host, port=wh.port, username=wh.username, password=wh.password.get_secret_value(),
        database=database or "default", secure=wh.secure, compress=wh.compress,
    )


@click.group()
def sink() -> None:
    """Kafka -> ClickHouse."""


@sink.command("migrate")
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Apply pending schema migrations (idempotent)."""
    from sinks.migrate import apply_migrations

    applied = apply_migrations(warehouse_client(settings), settings.warehouse.database)
    Console().print(f"applied {len(applied)} migrations: {', '.join(applied) or 'none pending'}")


@sink.command("run")
@click.pass_obj
def run(settings: Settings) -> None:
    """Consume the event and output topics into ClickHouse until stopped."""
    from sinks.migrate import apply_migrations
    from sinks.runner import Sink

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    apply_migrations(warehouse_client(settings), settings.warehouse.database)
    Sink(settings).run()
