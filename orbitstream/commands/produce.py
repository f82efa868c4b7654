"""``orbitstream produce``: send the synthetic workload to Kafka, with a progress bar."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from foundation.settings import Settings


@click.command("produce")
@click.option("--users", default=200, show_default=True)
@click.option("--days", default=28, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--rate", default=0.0, show_default=True, help="Events per second; 0 sends as fast as possible."
)
@click.option("--source", default="workload", show_default=True, help="Service name stamped on events.")
@click.pass_obj
def produce(settings: Settings, users: int, days: int, seed: int, rate: float, source: str) -> None:
    """Generate the synthetic workload and publish it through the producer SDK."""
    from foundation.kafka_access import check_access
    from producers.sdk import EventProducer
    from producers.workload import WorkloadConfig, generate, paced

    check_access(settings.kafka)  # a refused password: one clear line before anything is queued
    events = list(generate(WorkloadConfig(users=users, days=days, seed=seed)))
    console = Console()
    failures = 0

    def on_delivery(report: object, error: Exception | None) -> None:
        nonlocal failures
        if error is not None:
            failures += 1

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress, EventProducer(settings, source=source) as producer:
        task = progress.add_task("sending", total=len(events))
        stream = paced(events, rate) if rate > 0 else events
        for event in stream:
            producer.send(event, on_delivery=on_delivery)
            progress.advance(task)
    console.print(f"sent {len(events)} events, {failures} delivery failures")
    if failures:
        raise SystemExit(1)
