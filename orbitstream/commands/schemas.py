"""``orbitstream schemas check|release|codegen``: the contract's evolution rules, enforced."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from schemas.compat import Problem

ROOT_OPTION = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Schema tree holding avro/ and released/ (default: the schemas package).",
)


def print_problems(console: Console, problems: Sequence[Problem]) -> None:
    """Every name in full: a CI log is where a broken field must be readable."""
    title = f"{len(problems)} compatibility problems"
    if not console.is_terminal:
        # A pipe or a CI log has no width to fit: one whole, greppable line per problem.
        console.print(
            title, "\n".join(map(str, problems)), sep="\n", markup=False, highlight=False, soft_wrap=True
        )
        return
    table = Table(title=title)
    for column in ("record", "released", "field", "rule", "detail"):
        # Fold: a long name wraps onto the next line of its cell instead of being cut.
        table.add_column(column, overflow="fold")
    for p in problems:
        table.add_row(p.record, f"v{p.version}", p.path or "-", p.rule, p.detail)
    console.print(table)


@click.group()
def schemas() -> None:
    """The Avro contract in schemas/."""


@schemas.command("check")
@ROOT_OPTION
def check(root: Path | None) -> None:
    """Check every schema against all its released versions (BACKWARD_TRANSITIVE); exit 1 on a break."""
    from schemas.catalog import SCHEMA_ROOT
    from schemas.compat import check_tree

    console = Console()
    pairs, problems = check_tree(root or SCHEMA_ROOT)
    if problems:
        print_problems(console, problems)
        sys.exit(1)
    console.print(f"[green]compatible[/]: {pairs} current/released pairs, BACKWARD_TRANSITIVE")


@schemas.command("release")
def release_cmd() -> None:
    """Save changed schemas as new released versions (run after `check` passes)."""
    from schemas.compat import release

    written = release()
    Console().print(f"released {len(written)}: " + (", ".join(str(p) for p in written) or "nothing changed"))


@schemas.command("codegen")
def codegen() -> None:
    """Regenerate schemas/models/generated.py from the .avsc files (checked in)."""
    from schemas.codegen import main as write_models

    write_models()
