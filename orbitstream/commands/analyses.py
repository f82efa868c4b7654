"""``orbitstream analyses list|run`` and ``orbitstream report``.

Mounted into the project CLI (orbitstream/cli.py), which passes the settings as the click
object. Heavy imports (pandas, matplotlib) happen inside the commands that need them.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from analytics.catalog import ANALYSES
from analytics.exceptions import AnalysisError
from foundation.settings import Settings
from orbitstream.commands.sink import iso_time

if TYPE_CHECKING:
    from analytics.api import Analyses
    from analytics.params import Window


def _inputs(f: click.decorators.FC) -> click.decorators.FC:
    """The as-of and window options every command here takes."""
    options = [
        click.option(
            "--as-of", callback=iso_time, help="Judge the data as of this ISO time (UTC if no zone)."
        ),
        click.option("--start", callback=iso_time, help="Window start (ISO time)."),
        click.option("--end", callback=iso_time, help="Window end (ISO time); only complete periods count."),
        click.option(
            "--period-days", type=click.IntRange(min=1), default=None, help="Period length in days."
        ),
        click.option(
            "--embedded",
            type=click.Path(path_type=Path, file_okay=False),
            default=None,
            help="Serve this embedded warehouse directory (e.g. var/demo/warehouse) instead of connecting.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@contextmanager
def _analyses(settings: Settings, embedded: Path | None) -> Iterator[tuple[Analyses, str]]:
    """Analyses on the configured warehouse, or on an embedded one started for the command."""
    from analytics.api import Analyses

    if embedded is None:
        w = settings.warehouse
        yield Analyses.from_settings(settings), f"{w.host}:{w.port}/{w.database}"
        return
    from infra.warehouse.process import EmbeddedWarehouse

    if not (embedded / "data").is_dir():
        raise click.BadParameter(f"{embedded} holds no embedded warehouse (no data/ inside)")
    with EmbeddedWarehouse(embedded) as warehouse:
        client = warehouse.client(database=settings.warehouse.database)
        yield Analyses(client, settings.analyses), f"{embedded} ({settings.warehouse.database})"


def _window(
    analyses: Analyses,
    as_of: datetime | None,
    start: datetime | None,
    end: datetime | None,
    period: int | None,
) -> Window | None:
    """The window the options ask for; None leaves the API's default (the report's window)."""
    from analytics.params import Window

    if start is None and end is None and period is None:
        return None
    default = analyses.default_window(as_of or analyses.default_as_of())
    return Window(start or default.start, end or default.end, period or default.period_days)


@click.group("analyses")
def analyses() -> None:
    """Packaged analyses over the warehouse (definitions: docs/analyses.md)."""


@analyses.command("list")
def list_analyses() -> None:
    """Name and question of every analysis."""
    table = Table(title="analyses")
    table.add_column("name")
    table.add_column("question")
    table.add_column("SQL (analytics/sql/)")
    for analysis in ANALYSES.values():
        table.add_row(analysis.name, analysis.question, analysis.path.name)
    Console().print(table)


@analyses.command("run")
@click.argument("name", type=click.Choice(list(ANALYSES)))
@_inputs
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
@click.pass_obj
def run(
    settings: Settings,
    name: str,
    as_of: datetime | None,
    start: datetime | None,
    end: datetime | None,
    period_days: int | None,
    embedded: Path | None,
    fmt: str,
) -> None:
    """Run one analysis and print its rows."""
    from analytics.report import cell_text

    try:
        with _analyses(settings, embedded) as (api, source):
            rows = api.run(name, as_of=as_of, window=_window(api, as_of, start, end, period_days))
    except AnalysisError as exc:
        raise click.ClickException(str(exc)) from exc
    names = [f.name for f in fields(ANALYSES[name].row_type)]
    if fmt == "json":
        records = [{n: getattr(r, n) for n in names} for r in rows]
        click.echo(json.dumps(records, default=str, indent=1))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows([getattr(r, n) for n in names] for r in rows)
    else:
        table = Table(title=f"{ANALYSES[name].title} · {source}")
        for n in names:
            table.add_column(n.replace("_", " "), justify="left" if n in ("segment", "reason") else "right")
        for r in rows:
            table.add_row(*(cell_text(n, getattr(r, n)) for n in names))
        Console().print(table)


@click.command("report")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("report.html"), show_default=True
)
@_inputs
@click.option(
    "--demo",
    is_flag=True,
    help="The warehouse holds the demo's synthetic data: say in a banner how its population is built.",
)
@click.pass_obj
def report(
    settings: Settings,
    out: Path,
    as_of: datetime | None,
    start: datetime | None,
    end: datetime | None,
    period_days: int | None,
    embedded: Path | None,
    demo: bool,
) -> None:
    """Write every analysis, with charts, to one self-contained HTML file."""
    from analytics.report import DemoPopulation, write_report

    population = None
    if demo:  # the demo's population is built with the workload's defaults
        from producers.workload import WorkloadConfig

        workload = WorkloadConfig()
        population = DemoPopulation(workload.churn_share_members, workload.churn_share_non_members)
    try:
        with _analyses(settings, embedded) as (api, source):
            window = _window(api, as_of, start, end, period_days)
            path = write_report(api, out, as_of, window, source, population)
    except AnalysisError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) from {source}")
