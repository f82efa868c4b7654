"""``orbitstream demo``: the whole pipeline on a small synthetic workload, then a summary.

Starts a broker and the embedded warehouse under the work dir, a stream worker and a
sink, sends the workload through the producer SDK, waits until the warehouse has every
event, prints what happened (events in, rows out, latency), writes the analyses' HTML
report to ``<workdir>/report.html``, and stops all it started.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from foundation.client_logs import client_logs
from foundation.settings import Settings
from foundation.waiting import poll_until
from infra.stack import LocalStack, wait_for_group

if TYPE_CHECKING:
    from producers.workload import WorkloadConfig


@dataclass(frozen=True)
class DemoOptions:
    users: int
    days: int
    rate: float
    seed: int
    workdir: Path
    timeout_s: float = 120


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _event_scores(client: Any, database: str) -> int:
    """Score updates made by events: not by identity merges, nor by ticks (level changes)."""
    result: int = client.command(
        f"SELECT count() FROM {database}.engagement_scores FINAL "
        "WHERE NOT update_id LIKE '%:merge%' AND NOT source_event_id LIKE 'tick:%'"
    )
    return result


def run_demo(settings: Settings, options: DemoOptions, console: Console) -> bool:
    """Run the demo; True when every produced event reached the warehouse."""
    from producers.sdk import EventProducer
    from producers.workload import WorkloadConfig, generate, paced
    from sinks.migrate import apply_migrations
    from sinks.queries import count_rows

    shutil.rmtree(options.workdir, ignore_errors=True)
    options.workdir.mkdir(parents=True)
    demo_settings = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"store": "memory://", "web_port": 0})}
    )
    started = time.monotonic()
    # The stack waits for the broker's producer ids, and every client here is closed
    # before the stack stops the broker: a clean run logs no client warning at all.
    with (
        client_logs(options.workdir / "kafka-clients.log"),
        LocalStack(options.workdir, demo_settings) as stack,
    ):
        s = stack.settings
        console.print(
            f"[bold]broker[/] {s.kafka.bootstrap_servers}  [bold]warehouse[/] http://127.0.0.1:{s.warehouse.port}"
        )
        client = stack.warehouse.client()
        apply_migrations(client, s.warehouse.database)
        worker = stack.worker()
        sink = stack.sink()
        wait_for_group(s, s.topics.name(s.worker.app_id), 1, [worker])
        console.print("worker joined its group; producing")

        workload = WorkloadConfig(users=options.users, days=options.days, seed=options.seed)
        events = list(generate(workload))
        activity = sum(1 for e in events if type(e).__name__ != "IdentityLink")
        with _progress(console) as progress, EventProducer(s, source="demo") as producer:
            task = progress.add_task("events sent", total=len(events))
            for event in paced(events, options.rate):
                producer.send(event)
                progress.advance(task)
        # Every product/community event becomes an events row and a score update (identity
        # merges and level changes judged on ticks add updates of their own, not counted here).
        with _progress(console) as progress:
            tasks = {
                table: progress.add_task(f"{table} in ClickHouse", total=activity)
                for table in ("events", "engagement_scores")
            }
            landed = dict.fromkeys(tasks, 0)

            def all_landed() -> bool:
                worker.ensure_alive()
                sink.ensure_alive()
                for table, task in tasks.items():
                    landed[table] = (
                        _event_scores(client, s.warehouse.database)
                        if table == "engagement_scores"
                        else count_rows(client, s.warehouse.database, table)
                    )
                    progress.update(task, completed=landed[table])
                return min(landed.values()) >= activity

            poll_until(all_landed, options.timeout_s, interval=0.5)
        _print_summary(console, client, s, len(events), activity)
        ok = all(count == activity for count in landed.values())
        _write_report(
            console, stack.warehouse.client(database=s.warehouse.database), s, options.workdir, workload
        )
    verdict = "[bold green]done[/]" if ok else "[bold red]INCOMPLETE[/]"
    console.print(f"{verdict} in {time.monotonic() - started:.1f}s; every process stopped")
    return ok


def _write_report(
    console: Console, client: object, s: Settings, workdir: Path, workload: WorkloadConfig
) -> None:
    """The analyses' HTML report of what the demo loaded (a few seconds), with a banner saying
    how the synthetic population was built."""
    from analytics import Analyses
    from analytics.report import DemoPopulation, write_report

    started = time.monotonic()
    demo = DemoPopulation(workload.churn_share_members, workload.churn_share_non_members)
    path = write_report(
        Analyses(client, s.analyses), workdir / "report.html", source="demo warehouse", demo=demo
    )
    console.print(
        f"report: {path} ({path.stat().st_size / 1024:.0f} KiB in {time.monotonic() - started:.1f}s); "
        "open it in a browser"
    )


def _print_summary(console: Console, client: object, s: Settings, sent: int, activity: int) -> None:
    from sinks.queries import count_rows, latency_summary

    table = Table(title="rows in ClickHouse")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in (
        "events",
        "identity_links",
        "engagement_scores",
        "churn_triggers",
        "relationship_edges",
        "mentor_suggestions",
        "account_health",
        "identity_refusals",
        "dead_letters",
    ):
        table.add_row(name, str(count_rows(client, s.warehouse.database, name)))
    console.print(f"sent {sent} events ({activity} product/community, {sent - activity} identity links)")
    console.print(table)
    lat = latency_summary(client, s.warehouse.database)
    latency = Table(title="latency (ms)")
    for col in ("path", "p50", "p95", "p99", "max", "n"):
        latency.add_column(col, justify="right" if col != "path" else "left")
    for path, row in lat.items():
        latency.add_row(path, *(f"{row[k]:.1f}" for k in ("p50", "p95", "p99", "max")), str(int(row["n"])))
    console.print(latency)
