"""What a run left in the warehouse, read into plain values so two runs can be compared.

Per table: every row of its ``_final`` view keyed by the row's deterministic id (columns
set by the wall clock or by where a message sat in Kafka are left out: they differ
between runs by design), how often each id is stored (raw, before merges) and how often
it appears through the ``_final`` view. Per user: the latest score, level and event
count (``engagement_latest``) and the triggers fired (reason and episode start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# table -> (id column, column naming the source event the row came from, or None)
TABLES: dict[str, tuple[str, str | None]] = {
    "events": ("event_id", "event_id"),
    "identity_links": ("link_id", "link_id"),
    "identity_refusals": ("refusal_id", "source_event_id"),
    "engagement_scores": ("update_id", "source_event_id"),
    "churn_triggers": ("trigger_id", "source_event_id"),
    "relationship_edges": ("edge_id", "source_event_id"),
    "mentor_suggestions": ("suggestion_id", "source_event_id"),
    "account_health": ("health_id", "source_event_id"),
    "dead_letters": ("dead_letter_id", None),
}
# Set by the wall clock (sending, emitting, loading) or by Kafka placement, not by the data.
NOT_COMPARED = frozenset(
    {
        "ingested_at",
        "emitted_at",
        "sent_at",
        "source_sent_at",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "failed_at",
        "replayed_at",
        "version",
    }
)
FLOAT_DIGITS = 6


def plain(value: Any) -> Any:
    """A comparable, JSON-ready form: floats rounded, times as ISO text, maps sorted."""
    if isinstance(value, float):
        return round(value, FLOAT_DIGITS)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return sorted((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass
class TableSnapshot:
    columns: list[str]
    rows: dict[str, tuple[Any, ...]]  # id -> compared columns (from the _final view)
    source: dict[str, str]  # id -> source event id
    raw_copies: dict[str, int]  # id -> rows stored, where more than one
    final_copies: dict[str, int]  # id -> rows through the _final view, where more than one


@dataclass
class UserState:
    score: float
    orbit_level: int
    event_count: int
    triggers: tuple[tuple[str, str], ...]  # (reason, episode start), sorted


@dataclass
class Snapshot:
    tables: dict[str, TableSnapshot] = field(default_factory=dict)
    users: dict[str, UserState] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {name: len(t.rows) for name, t in self.tables.items()}


def _copies(client: Any, sql: str) -> dict[str, int]:
    return {str(k): int(n) for k, n in client.query(sql).result_rows}


def read_table(client: Any, database: str, table: str) -> TableSnapshot:
    id_col, source_col = TABLES[table]
    described = client.query(f"DESCRIBE TABLE {database}.{table}").result_rows
    columns = [row[0] for row in described if row[0] not in NOT_COMPARED]
    result = client.query(f"SELECT {', '.join(columns)} FROM {database}.{table}_final")
    id_at = columns.index(id_col)
    source_at = columns.index(source_col) if source_col else None
    rows: dict[str, tuple[Any, ...]] = {}
    source: dict[str, str] = {}
    for row in result.result_rows:
        key = str(row[id_at])
        rows[key] = tuple(plain(v) for v in row)
        if source_at is not None:
            source[key] = str(row[source_at])
    group = f"SELECT {id_col}, count() AS n FROM {database}.{{}} GROUP BY {id_col} HAVING n > 1"
    return TableSnapshot(
        columns=columns,
        rows=rows,
        source=source,
        raw_copies=_copies(client, group.format(table)),
        final_copies=_copies(client, group.format(f"{table}_final")),
    )


def read_snapshot(client: Any, database: str) -> Snapshot:
    snap = Snapshot(tables={t: read_table(client, database, t) for t in TABLES})
    triggers: dict[str, list[tuple[str, str]]] = {}
    for cid, reason, started in client.query(
        f"SELECT canonical_id, reason, episode_started_at FROM {database}.churn_triggers_final"
    ).result_rows:
        triggers.setdefault(str(cid), []).append((str(reason), plain(started)))
    latest = client.query(
        f"SELECT canonical_id, score, orbit_level, event_count FROM {database}.engagement_latest"
    ).result_rows
    for cid, score, level, count in latest:
        snap.users[str(cid)] = UserState(
            score=round(float(score), FLOAT_DIGITS),
            orbit_level=int(level),
            event_count=int(count),
            triggers=tuple(sorted(triggers.pop(str(cid), []))),
        )
    for cid, fired in triggers.items():  # triggers of a user with no score update
        snap.users[cid] = UserState(0.0, 0, 0, tuple(sorted(fired)))
    return snap


def table_counts(client: Any, database: str) -> dict[str, int]:
    """Rows per table through the ``_final`` views (what the drain watches settle)."""
    return {t: int(client.command(f"SELECT count() FROM {database}.{t}_final")) for t in TABLES}
