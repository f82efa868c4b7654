"""``orbitstream``: the project CLI. Settings are read here, once, and passed down."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from infra.settings import Settings, load_settings


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """orbitstream: product + community engagement analytics on Kafka, Faust and ClickHouse."""
    ctx.obj = load_settings()


@main.command()
@click.option("--users", default=80, show_default=True, help="Synthetic population size.")
# Six weeks: signup cohorts reach day 30 and churn has several periods, so the report
# shows retention and churn, not placeholders.
@click.option("--days", default=42, show_default=True, help="Simulated days of activity.")
@click.option(
    "--rate",
    default=120.0,
    show_default=True,
    # The demo also runs the sink and the warehouse on the same cores (bench/ for one worker).
    help="Events per second sent.",
)
@click.option("--seed", default=7, show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("var/demo"), show_default=True)
@click.pass_obj
def demo(settings: Settings, users: int, days: int, rate: float, seed: int, workdir: Path) -> None:
    """Run producers -> stream workers -> sink end to end on a local broker and embedded warehouse."""
    from infra.demo import DemoOptions, run_demo

    ok = run_demo(
        settings, DemoOptions(users=users, days=days, rate=rate, seed=seed, workdir=workdir), Console()
    )
    sys.exit(0 if ok else 1)


@main.command("worker", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run a stream worker (arguments go to Faust's worker command)."""
    from streams.__main__ import main as worker_main

    sys.argv = ["orbitstream-worker", "worker", *ctx.args]
    worker_main()


@main.group()
def topics() -> None:
    """Kafka topics."""


@topics.command("create")
@click.pass_obj
def topics_create(settings: Settings) -> None:
    """Create the public topics with the configured partition count (idempotent)."""
    from infra.topics import ensure_topics
    from streams.topology import public_topic_names

    created = ensure_topics(
        settings.kafka,
        public_topic_names(settings),
        settings.topics.partitions,
        settings.topics.replication_factor,
    )
    Console().print(f"created {len(created)} topics: {', '.join(created) or '-'}")


def _mount() -> None:
    """Add the command groups that live with their packages."""
    from producers.cli import produce
    from schemas.cli import schemas
    from sinks.analyses.cli import analyses, report
    from sinks.cli import sink

    main.add_command(schemas)
    main.add_command(sink)
    main.add_command(produce)
    main.add_command(analyses)
    main.add_command(report)


_mount()

if __name__ == "__main__":
    main()
