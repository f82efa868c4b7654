"""The one command: every subcommand documented in README, arguments passed, never sys.argv."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import streams.worker
from orbitstream.cli import main
from orbitstream.commands.bench import BENCHMARKS

README = Path(__file__).parents[3] / "README.md"


def _readme_commands() -> set[str]:
    """First words of the commands in README's table of subcommands (`sink run` / `sink migrate` ...)."""
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    cells = [row.split("|")[1] for row in rows]
    return {name.split()[0] for cell in cells for name in re.findall(r"`([^`]+)`", cell)}


def test_every_subcommand_is_in_the_readme_table_and_nothing_else_is() -> None:
    assert _readme_commands() == set(main.commands)


def test_every_benchmark_with_a_main_is_a_bench_subcommand() -> None:
    bench_dir = Path(__file__).parents[3] / "bench"
    with_main = set()
    for path in bench_dir.glob("*.py"):
        module = importlib.import_module(f"bench.{path.stem}")
        entry = getattr(module, "main", None)
        if entry is not None and inspect.isfunction(entry) and entry.__module__ == module.__name__:
            with_main.add(module.__name__)
    assert with_main == set(BENCHMARKS.values())


def test_a_benchmark_gets_its_own_options() -> None:
    result = CliRunner().invoke(main, ["bench", "metrics-overhead", "--help"])
    assert result.exit_code == 0, result.output
    assert "--events" in result.output and "--repeat" in result.output


def test_the_worker_gets_faust_options_as_arguments_and_sys_argv_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Any, list[str]]] = []
    monkeypatch.setattr(
        streams.worker, "run_worker", lambda settings, args: seen.append((settings, list(args)))
    )
    argv = list(sys.argv)
    result = CliRunner().invoke(main, ["worker", "--loglevel", "info", "--help"])
    assert result.exit_code == 0, result.output
    [(settings, args)] = seen
    assert args == ["--loglevel", "info", "--help"]
    assert settings.worker.app_id == "orbitstream-workers"  # the settings the entry point loaded
    assert sys.argv == argv
