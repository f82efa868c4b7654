"""Ordered ``.sql`` migrations in sinks/migrations, each applied once, idempotently.

Files are named ``NNNN_description.sql`` and applied in that order. Applied versions and
their SHA-256 are recorded in ``schema_migrations``; an applied file that was edited
afterwards is refused (add a new migration instead). Statements use unqualified table
names and run against the target database. ``orbitstream sink migrate`` applies them with
the configured warehouse settings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sinks.exceptions import MigrationError

MIGRATIONS = Path(__file__).parent / "migrations"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FILENAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def statements(sql: str) -> list[str]:
    """Split a migration into statements: ``--`` comment lines dropped, split on ``;``.

    Migrations keep ``;`` out of string literals and comments after code, so this is exact.
    """
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def discover(directory: Path = MIGRATIONS) -> list[Migration]:
    """The migrations in ``directory``, in order; a misnamed or duplicate version is an error."""
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILENAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_description.sql")
        version = path.stem
        number = match.group(1)
        clash = [v for v in found if v.startswith(f"{number}_")]
        if clash:
            raise MigrationError(f"{path.name}: version {number} is also used by {clash[0]}.sql")
        found[version] = Migration(version, path, path.read_text())
    return list(found.values())


def apply_migrations(client: Any, database: str, directory: Path = MIGRATIONS) -> list[str]:
    """Apply the pending migrations to ``database`` (created if missing); return the versions applied.

    Safe to run on every start. Not meant to race another migrator on the same database:
    CREATE ... IF NOT EXISTS makes a race harmless, but both would record the version.
    """
    if not _IDENTIFIER.match(database):
        raise MigrationError(f"database name {database!r} is not a plain identifier")
    pending = discover(directory)
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(version String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    rows = client.query(f"SELECT version, checksum FROM {database}.schema_migrations FINAL").result_rows
    applied: dict[str, str] = {str(v): str(c) for v, c in rows}
    done: list[str] = []
    # Statements use unqualified names: run them with the client bound to ``database``.
    previous, client.database = client.database, database
    try:
        for migration in pending:
            recorded = applied.get(migration.version)
            if recorded is not None:
                if recorded != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.path.name} was changed after it was applied to {database} "
                        f"(recorded sha256 {recorded[:12]}, file {migration.checksum[:12]}); "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            _apply(client, migration)
            client.insert(
                "schema_migrations",
                [[migration.version, migration.checksum]],
                column_names=["version", "checksum"],
                settings={"async_insert": 0},
            )
            done.append(migration.version)
    finally:
        client.database = previous
    return done


def _apply(client: Any, migration: Migration) -> None:
    for number, statement in enumerate(statements(migration.sql), start=1):
        try:
            client.command(statement)
        except Exception as exc:
            first_line = statement.splitlines()[0]
            raise MigrationError(f"{migration.path.name}, statement {number} ({first_line}): {exc}") from exc
