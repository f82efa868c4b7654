"""``orbitstream sink ...``: run the sink, apply migrations, replay dead letters.

Mounted into the project CLI (orbitstream/cli.py), which passes the settings as the click
object.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from foundation.settings import Settings


@click.group()
def sink() -> None:
    """Kafka -> ClickHouse: the sink, its schema and its dead letters."""


@sink.command("migrate")
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Apply pending schema migrations to the configured database (idempotent)."""
    from foundation.warehouse_access import warehouse_client
    from sinks.migrate import apply_migrations

    applied = apply_migrations(warehouse_client(settings.warehouse), settings.warehouse.database)
    Console().print(
        f"{settings.warehouse.database}: applied {len(applied)} migrations: {', '.join(applied) or '-'}"
    )


@sink.command("run")
@click.option("--max-idle", type=float, default=None, help="Stop after this many seconds without messages.")
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
@click.pass_obj
def run(settings: Settings, max_idle: float | None, no_migrate: bool) -> None:
    """Consume the resolved events, outputs and dead letters into ClickHouse until stopped (SIGTERM/^C)."""
    from foundation.kafka_access import check_access
    from foundation.warehouse_access import warehouse_client
    from sinks.metrics import SinkMetrics, serve
    from sinks.migrate import apply_migrations
    from sinks.runner import Sink

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_access(settings.kafka)  # refused credentials end the sink in seconds, with one clear line
    if not no_migrate:
        apply_migrations(warehouse_client(settings.warehouse), settings.warehouse.database)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()  # the loop flushes what is buffered, commits and leaves the group

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    metrics = SinkMetrics()
    if settings.sink.metrics_port != 0:
        try:
            serve(metrics, settings.sink.metrics_host, settings.sink.metrics_port)
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc
    stats = Sink(settings, metrics=metrics).run(stop=stop, max_idle=max_idle)
    logging.getLogger(__name__).info("stopped: %d consumed, rows %s", stats.consumed, dict(stats.rows))


def iso_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Click callback for an ISO time option (here and in commands/analyses.py); naive times are UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO time (e.g. 2026-03-01T00:00)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@sink.command("replay-dead-letters")
@click.option(
    "--id", "ids", multiple=True, help="A dead_letter_id (topic:partition:offset:stage); repeatable."
)
@click.option("--source-topic", default=None, help="Full topic name the messages came from.")
@click.option("--error-class", default=None, help="e.g. DeserializationError.")
@click.option("--since", default=None, callback=iso_time, help="failed_at >= this ISO time (UTC if no zone).")
@click.option(
    "--until", "until_", default=None, callback=iso_time, help="failed_at < this ISO time (UTC if no zone)."
)
@click.option("--all", "everything", is_flag=True, help="Every dead letter not replayed yet.")
@click.option("--include-replayed", is_flag=True, help="Replay letters that were replayed before, too.")
@click.option("--limit", default=10_000, show_default=True)
@click.option("--dry-run", is_flag=True, help="Only list what would be replayed.")
@click.pass_obj
def replay_dead_letters(
    settings: Settings,
    ids: tuple[str, ...],
    source_topic: str | None,
    error_class: str | None,
    since: datetime | None,
    until_: datetime | None,
    everything: bool,
    include_replayed: bool,
    limit: int,
    dry_run: bool,
) -> None:
    """Send chosen dead letters back to their source topic and mark them replayed."""
    from foundation.warehouse_access import warehouse_client
    from sinks.exceptions import ReplayError
    from sinks.privacy import RowPrivacy
    from sinks.replay import ReplaySelection, replay_dead_letters
    from sinks.writer import ClickHouseWriter

    selection = ReplaySelection(
        ids=ids,
        source_topic=source_topic,
        error_class=error_class,
        since=since,
        until=until_,
        include_replayed=include_replayed,
        everything=everything,
        limit=limit,
    )
    console = Console()
    try:
        result = replay_dead_letters(
            warehouse_client(settings.warehouse, settings.warehouse.database),
            ClickHouseWriter.from_settings(settings.warehouse),
            settings.kafka,
            selection,
            dry_run=dry_run,
            seal=privacy.seal if (privacy := RowPrivacy.from_settings(settings.privacy)) else None,
        )
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from exc
    table = Table(title="dead letters" + (" (dry run)" if dry_run else ""))
    table.add_column("dead_letter_id")
    table.add_column("result")
    for letter_id in result.selected:
        outcome = "selected" if dry_run else ("replayed" if letter_id in result.replayed else "FAILED")
        table.add_row(
            letter_id, outcome + (f": {result.failed[letter_id]}" if letter_id in result.failed else "")
        )
    console.print(table)
    console.print(
        f"{len(result.selected)} selected, {len(result.replayed)} replayed, {len(result.failed)} failed"
    )
    if result.failed:
        raise SystemExit(1)
