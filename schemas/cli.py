"""``orbitstream schemas check|release``: the contract's evolution rules, enforced."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table


@click.group()
def schemas() -> None:
    """The Avro contract in schemas/."""


@schemas.command("check")
def check() -> None:
    """Check every schema against all its released versions (BACKWARD_TRANSITIVE); exit 1 on a break."""
    from schemas.compat import check_tree

    console = Console()
    pairs, problems = check_tree()
    if problems:
        table = Table(title=f"{len(problems)} compatibility problems")
        for column in ("record", "released", "field", "rule", "detail"):
            table.add_column(column)
        for p in problems:
            table.add_row(p.record, f"v{p.version}", p.path or "-", p.rule, p.detail)
        console.print(table)
        sys.exit(1)
    console.print(f"[green]compatible[/]: {pairs} current/released pairs, BACKWARD_TRANSITIVE")


@schemas.command("release")
def release_cmd() -> None:
    """Save changed schemas as new released versions (run after `check` passes)."""
    from schemas.compat import release

    written = release()
    Console().print(f"released {len(written)}: " + (", ".join(str(p) for p in written) or "nothing changed"))
