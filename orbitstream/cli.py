"""``orbitstream``: the project CLI. Settings are read here, once, and passed down."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console

from foundation.settings import Settings, load_settings, validation_summary
from foundation.settings_reference import DOC_PATH, UnknownSettingError, check_environment, render_markdown


def _settings_error(exc: UnknownSettingError | ValidationError) -> click.ClickException:
    """One line per problem, naming the variable: no traceback for a configuration mistake."""
    if isinstance(exc, UnknownSettingError):
        message = str(exc)
    else:
        message = validation_summary(exc)
    error = click.ClickException(message)
    error.exit_code = 2
    return error


class _Cli(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Before any option is parsed, so `--help` does not hide a misspelt variable either.
        try:
            check_environment(os.environ, Settings)
        except UnknownSettingError as exc:
            raise _settings_error(exc) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        from foundation.kafka_access import KafkaAccessError

        # Unreachable or refusing Kafka is an answer for the operator, not a traceback.
        try:
            return super().invoke(ctx)
        except KafkaAccessError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Cli)
@click.pass_context
def main(ctx: click.Context) -> None:
    """orbitstream: product + community engagement analytics on Kafka, Faust and ClickHouse."""
    try:
        ctx.obj = load_settings()
    except (UnknownSettingError, ValidationError) as exc:
        raise _settings_error(exc) from None


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
    from orbitstream.demo import DemoOptions, run_demo

    ok = run_demo(
        settings, DemoOptions(users=users, days=days, rate=rate, seed=seed, workdir=workdir), Console()
    )
    sys.exit(0 if ok else 1)


@main.command(
    "worker",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run a stream worker (the arguments go to Faust's worker command: --loglevel, --help, ...)."""
    from streams.worker import run_worker

    run_worker(ctx.obj, ctx.args)


@main.group()
def topics() -> None:
    """Kafka topics."""


@topics.command("create")
@click.pass_obj
def topics_create(settings: Settings) -> None:
    """Create the public topics with the configured partition count (idempotent)."""
    from foundation.topic_admin import ensure_topics
    from streams.topology import worker_topic_names

    created = ensure_topics(
        settings.kafka,
        worker_topic_names(settings),
        settings.topics.partitions,
        settings.topics.replication_factor,
    )
    Console().print(f"created {len(created)} topics: {', '.join(created) or '-'}")


@main.group()
def identity() -> None:
    """Identities in the warehouse (pseudonyms, docs/security.md)."""


@identity.command("pseudonym")
@click.argument("external_id")
@click.option(
    "--provider",
    default="email",
    show_default=True,
    help="Identity provider (email, github, sso, oauth2, ...).",
)
@click.pass_obj
def identity_pseudonym(settings: Settings, external_id: str, provider: str) -> None:
    """Print what the warehouse stores for an identity (EXTERNAL_ID, or - to read it from stdin).

    Needs ORBITSTREAM_PRIVACY__PSEUDONYMISATION_KEY, the key the sink runs with. Prints the
    pseudonym (the external_id columns) and, for an identity never linked to another, its
    canonical id.
    """
    from schemas.pseudonyms import Pseudonymiser

    pseudonymiser = Pseudonymiser.from_settings(settings.privacy)
    if pseudonymiser is None:
        raise click.ClickException(
            "no pseudonymisation key: set ORBITSTREAM_PRIVACY__PSEUDONYMISATION_KEY to the sink's key"
        )
    value = sys.stdin.readline().rstrip("\n") if external_id == "-" else external_id
    from schemas.identity import identity_key

    click.echo(f"pseudonym: {pseudonymiser.identity(provider, value)}")
    try:
        canonical = pseudonymiser.deterministic_id(identity_key(provider, value))
    except ValueError as exc:  # an illegal id ("null", "guest", ...) names nobody
        canonical = f"none ({exc})"
    click.echo(f"canonical_id if never linked: {canonical}")


@main.group()
def config() -> None:
    """The settings (ORBITSTREAM_* environment variables)."""


@config.command("docs")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DOC_PATH, show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 if the file is not current instead of writing it.")
def config_docs(out: Path, check: bool) -> None:
    """Write the settings reference (every variable, type, default, description)."""
    text = render_markdown(Settings)
    if check:
        current = out.exists() and out.read_text() == text
        click.echo(f"{out}: {'current' if current else 'out of date; run `orbitstream config docs`'}")
        sys.exit(0 if current else 1)
    out.write_text(text)
    click.echo(f"wrote {out}")


def _mount() -> None:
    """Add the command groups that live with their packages."""
    from orbitstream.commands.analyses import analyses, report
    from orbitstream.commands.bench import bench
    from orbitstream.commands.collect import collect
    from orbitstream.commands.produce import produce
    from orbitstream.commands.schemas import schemas
    from orbitstream.commands.services import broker, warehouse
    from orbitstream.commands.sink import sink

    main.add_command(schemas)
    main.add_command(sink)
    main.add_command(produce)
    main.add_command(collect)
    main.add_command(analyses)
    main.add_command(report)
    main.add_command(broker)
    main.add_command(warehouse)
    main.add_command(bench)


_mount()

if __name__ == "__main__":
    main()
