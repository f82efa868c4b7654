"""Ordered .sql migrations in sinks/migrations, applied once each, idempotently.

Applied versions and their checksums are recorded in ``schema_migrations``; an applied
file that was edited afterwards is an error (add a new migration instead).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from sinks.exceptions import MigrationError

MIGRATIONS = Path(__file__).parent / "migrations"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def statements(sql: str) -> list[str]:
    """Split a migration into statements (comments dropped; no ';' inside literals here)."""
    text = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def apply_migrations(client: Any, database: str, directory: Path = MIGRATIONS) -> list[str]:
    """Apply pending migrations to ``database`` (created if missing); return the versions applied."""
    if not _IDENTIFIER.match(database):
        raise MigrationError(f"database name {database!r} is not a plain identifier")
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(version String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = MergeTree ORDER BY version"
    )
    applied = dict(client.query(f"SELECT version, checksum FROM {database}.schema_migrations").result_rows)
    done: list[str] = []
    # Migrations use unqualified names: run them with the client bound to ``database``.
    previous, client.database = client.database, database
    try:
        _apply_pending(client, database, directory, applied, done)
    finally:
        client.database = previous
    return done


def _apply_pending(client: Any, database: str, directory: Path, applied: dict[str, str], done: list[str]) -> None:
    for path in sorted(directory.glob("*.sql")):
        version = path.stem
        sql = path.read_text()
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        if version in applied:
            if applied[version] != checksum:
                raise MigrationError(f"migration {path.name} changed after it was applied; add a new one instead")
            continue
        for statement in statements(sql):
            try:
                client.command(statement)
            except Exception as exc:
                raise MigrationError(f"{path.name}: {exc}") from exc
        client.insert(f"{database}.schema_migrations", [[version, checksum]], column_names=["version", "checksum"])
        done.append(version)
