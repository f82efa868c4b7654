"""Inserts into ClickHouse over clickhouse-connect, one acknowledged insert per call.

Every insert is synchronous and deduplicated:
- ``async_insert=0``: ClickHouse 26.x turns async inserts on by default, which would
  acknowledge rows that sit in a server-side buffer and would skip block deduplication
  (``async_insert_deduplicate`` is off). The sink batches itself, so it asks for a plain
  insert: the HTTP 200 means the rows are in a part on disk.
- ``insert_deduplication_token``: derived from the batch's topic, partition and offsets
  (batching.dedup_token), so a retried identical batch is dropped by the table's
  ``non_replicated_deduplication_window`` (``replicated_deduplication_window`` on a
  ReplicatedMergeTree).

Inserts are columnar (``column_oriented=True``): a batch's value tuples are transposed
once (``zip``) and clickhouse-connect writes each column to the Native format, with the
column types read once per table (``DESCRIBE TABLE``) instead of before every insert.
Times are integer milliseconds (columnar.py), what ``DateTime64(3)`` stores.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from foundation.settings import WarehouseSettings
from foundation.warehouse_access import warehouse_client
from sinks.columnar import Values, row_values, to_millis
from sinks.exceptions import SinkBackpressureError
from sinks.rows import COLUMNS, Row

log = logging.getLogger(__name__)

INSERT_SETTINGS = {"async_insert": 0, "insert_deduplicate": 1}


def _now() -> datetime:
    return datetime.now(UTC)


class ClickHouseWriter:
    """Inserts rows of the sink's tables; any failure is a :class:`SinkBackpressureError`.

    The client is made lazily and remade after a failure, so the writer outlives a
    warehouse restart (the sink may even start while the warehouse is down).
    """

    def __init__(self, client_factory: Callable[[], Any], clock: Callable[[], datetime] = _now) -> None:
        self._factory = client_factory
        self._client: Any | None = None
        self._clock = clock
        self._types: dict[str, list[str]] = {}

    @classmethod
    def from_settings(cls, warehouse: WarehouseSettings, database: str | None = None) -> ClickHouseWriter:
        return cls(lambda: warehouse_client(warehouse, database or warehouse.database))

    def insert(self, table: str, rows: Sequence[Row], token: str) -> int:
        """Insert row dicts (all of ``table``'s columns) with ``token``; return the rows sent."""
        return self.insert_values(table, [row_values(table, row) for row in rows], token)

    def insert_values(self, table: str, rows: Sequence[Values], token: str) -> int:
        """Insert value tuples (columnar.py: columns in order, no ``ingested_at``); return the rows sent."""
        if not rows:
            return 0
        names = COLUMNS[table]
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        columns.append([to_millis(self._clock())] * len(rows))
        try:
            if self._client is None:
                self._client = self._factory()
            client = self._client
            client.insert(
                table,
                columns,
                column_names=list(names),
                column_type_names=self._column_types(client, table),
                column_oriented=True,
                settings={**INSERT_SETTINGS, "insert_deduplication_token": token},
            )
        except Exception as exc:
            self.reset()
            raise SinkBackpressureError(
                f"insert of {len(rows)} rows into {table} failed: {type(exc).__name__}: {exc}",
                table=table,
                token=token,
            ) from exc
        return len(rows)

    def _column_types(self, client: Any, table: str) -> list[str]:
        types = self._types.get(table)
        if types is None:
            described = {r[0]: r[1] for r in client.query(f"DESCRIBE TABLE {table}").result_rows}
            types = self._types[table] = [described[name] for name in COLUMNS[table]]
        return types

    def reset(self) -> None:
        """Drop the client; the next insert connects afresh."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: S110 - a broken client may fail to close; it is dropped anyway
                pass
