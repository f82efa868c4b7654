"""The writer's insert: every column in table order (columnar, with the table's types read
once), ingested_at stamped, per-insert settings, and any failure turned into
SinkBackpressureError with a fresh client next time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sinks.columnar import to_millis
from sinks.exceptions import SinkBackpressureError
from sinks.rows import COLUMNS, Source, row_for
from sinks.writer import ClickHouseWriter
from tests.unit.sinks import samples

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


class RecordingClient:
    """Stands in for clickhouse-connect's client at the writer's boundary (no network)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.inserts: list[tuple[str, list[list[Any]], list[str], dict[str, Any]]] = []
        self.types: list[list[str]] = []
        self.described: list[str] = []
        self.closed = False

    def query(self, sql: str) -> Any:
        if self.fail:
            raise ConnectionError("connection refused")
        self.described.append(sql)
        table = sql.removeprefix("DESCRIBE TABLE ")
        # DESCRIBE lists (name, type, ...); reversed: the writer must match by name, not position.
        rows = [(name, f"T_{name}", "") for name in reversed(COLUMNS[table])]
        return type("Result", (), {"result_rows": rows})()

    def insert(
        self,
        table: str,
        data: list[list[Any]],
        column_names: list[str],
        column_type_names: list[str],
        column_oriented: bool,
        settings: dict[str, Any],
    ) -> None:
        if self.fail:
            raise ConnectionError("connection refused")
        assert column_oriented
        self.inserts.append((table, data, column_names, settings))
        self.types.append(column_type_names)

    def close(self) -> None:
        self.closed = True


def test_insert_sends_all_columns_in_order_with_the_token_and_sync_insert_settings() -> None:
    client = RecordingClient()
    writer = ClickHouseWriter(lambda: client, clock=lambda: NOW)
    _, row = row_for(samples.outputs()[1], Source("t", 0, 0))
    assert writer.insert("churn_triggers", [row, row], token="churn_triggers/t/0/4-5") == 2
    ((table, data, columns, settings),) = client.inserts
    assert (table, tuple(columns)) == ("churn_triggers", COLUMNS["churn_triggers"])
    assert settings == {
        "async_insert": 0,
        "insert_deduplicate": 1,
        "insert_deduplication_token": "churn_triggers/t/0/4-5",
    }
    assert list(data[columns.index("trigger_id")]) == ["tr-300", "tr-300"]
    assert list(data[columns.index("ingested_at")]) == [to_millis(NOW)] * 2
    assert list(data[columns.index("fired_at")]) == [to_millis(row["fired_at"])] * 2
    assert client.types == [[f"T_{name}" for name in COLUMNS["churn_triggers"]]]
    assert writer.insert("churn_triggers", [], token="x") == 0
    writer.insert("churn_triggers", [row], token="y")
    assert len(client.inserts) == 2
    assert client.described == ["DESCRIBE TABLE churn_triggers"]  # types read once per table


def test_a_failed_insert_is_backpressure_and_the_next_insert_uses_a_new_client() -> None:
    made: list[RecordingClient] = []

    def factory() -> RecordingClient:
        made.append(RecordingClient(fail=len(made) == 0))
        return made[-1]

    writer = ClickHouseWriter(factory, clock=lambda: NOW)
    _, row = row_for(samples.outputs()[0], Source("t", 0, 0))
    with pytest.raises(SinkBackpressureError, match="insert of 1 rows into engagement_scores failed") as info:
        writer.insert("engagement_scores", [row], token="tok-1")
    assert (info.value.table, info.value.token) == ("engagement_scores", "tok-1")
    assert made[0].closed
    writer.insert("engagement_scores", [row], token="tok-1")
    assert len(made) == 2 and made[1].inserts[0][3]["insert_deduplication_token"] == "tok-1"


def test_a_warehouse_that_cannot_be_reached_is_backpressure_too() -> None:
    def unreachable() -> RecordingClient:
        raise ConnectionError("no route")

    writer = ClickHouseWriter(unreachable)
    _, row = row_for(samples.outputs()[2], Source("t", 0, 0))
    with pytest.raises(SinkBackpressureError, match="ConnectionError: no route"):
        writer.insert("relationship_edges", [row], token="t")
