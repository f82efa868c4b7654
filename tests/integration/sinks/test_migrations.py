"""Migrations on the embedded warehouse: ordered, once each, checksummed, idempotent."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from sinks.exceptions import MigrationError
from sinks.migrate import MIGRATIONS, apply_migrations, discover
from sinks.rows import COLUMNS

pytestmark = pytest.mark.integration

TABLES = sorted([*COLUMNS, "schema_migrations"])
VIEWS = sorted(
    [f"{t}_final" for t in COLUMNS]
    + ["engagement_latest", "events_resolved"]
    + ["window_periods", "window_period_levels", "period_orbit_levels", "signup_cohort"]  # 0003, analyses
    + ["account_health_latest"]  # 0004
)


def copy_migrations(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, target)
    return target


def test_migrations_apply_once_and_create_every_table_and_view(warehouse: Any, ch_database: str) -> None:
    admin = warehouse.client()
    assert apply_migrations(admin, ch_database) == [m.version for m in discover()]
    assert apply_migrations(admin, ch_database) == []
    client = warehouse.client(database=ch_database)
    objects = dict(
        client.query("SELECT name, engine FROM system.tables WHERE database = currentDatabase()").result_rows
    )
    assert sorted(n for n, e in objects.items() if e == "ReplacingMergeTree") == TABLES
    assert sorted(n for n, e in objects.items() if e == "View") == VIEWS
    # The row mapping and the tables agree on every column, in order.
    for table, columns in COLUMNS.items():
        described = [r[0] for r in client.query(f"DESCRIBE TABLE {table}").result_rows]
        assert tuple(described) == columns, table
    create = client.command(
        "SELECT create_table_query FROM system.tables WHERE name = 'events' AND database = currentDatabase()"
    )
    assert "non_replicated_deduplication_window = 1000" in create
    assert "ORDER BY (area, event_type, occurred_at, event_id)" in create


def test_a_new_migration_is_applied_and_an_edited_applied_one_is_refused(
    warehouse: Any, ch_database: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path)
    admin = warehouse.client()
    apply_migrations(admin, ch_database, directory)
    (directory / "0099_add_notes.sql").write_text(
        "-- a later change\nALTER TABLE churn_triggers ADD COLUMN IF NOT EXISTS note String DEFAULT '';\n"
    )
    assert apply_migrations(admin, ch_database, directory) == ["0099_add_notes"]
    client = warehouse.client(database=ch_database)
    assert "note" in [r[0] for r in client.query("DESCRIBE TABLE churn_triggers").result_rows]
    init = directory / "0001_init.sql"
    init.write_text(init.read_text() + "\n-- edited afterwards\n")
    with pytest.raises(MigrationError, match="0001_init.sql was changed after it was applied"):
        apply_migrations(admin, ch_database, directory)


def test_misnamed_files_and_failing_statements_are_named(
    warehouse: Any, ch_database: str, tmp_path: Path
) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "init.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="init.sql: migration files are named NNNN_description.sql"):
        apply_migrations(warehouse.client(), ch_database, directory)
    (directory / "init.sql").unlink()
    (directory / "0001_broken.sql").write_text(
        "CREATE TABLE ok (x UInt8) ENGINE = Memory;\nCREATE TABLE nope (;\n"
    )
    with pytest.raises(MigrationError, match=r"0001_broken.sql, statement 2 \(CREATE TABLE nope"):
        apply_migrations(warehouse.client(), ch_database, directory)
    with pytest.raises(MigrationError, match="not a plain identifier"):
        apply_migrations(warehouse.client(), "x; DROP TABLE y", directory)
