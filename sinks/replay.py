"""Replay chosen dead letters into the topic they came from, then mark them replayed.

Each selected letter's original key and value bytes are produced to its source topic and
partition with a ``orbitstream-replay-of: <dead_letter_id>`` header. Once the broker
acknowledged a message, its row gets a new version with ``replayed_at`` set. Nothing is
duplicated downstream: the events carry their event_id and every table is keyed on it,
so replaying a letter twice (say, the command died before marking) loads it once. A
replayed message that still fails is dead-lettered again at its new offset: a new
dead_letter_id, with ``replay_of`` naming the letter it came from (see docs/sink.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from foundation.names import DeadLetterHeader
from foundation.settings import KafkaSettings
from sinks.exceptions import ReplayError, SinkBackpressureError
from sinks.privacy import DeadLetterSeal
from sinks.rows import COLUMNS, Row
from sinks.writer import ClickHouseWriter

_SELECT_COLUMNS = [c for c in COLUMNS["dead_letters"] if c != "ingested_at"]


@dataclass(frozen=True)
class ReplaySelection:
    """Which dead letters to replay: every given criterion must hold."""

    ids: tuple[str, ...] = ()
    source_topic: str | None = None
    error_class: str | None = None
    since: datetime | None = None  # failed_at >= since
    until: datetime | None = None  # failed_at < until
    include_replayed: bool = False
    everything: bool = False  # no criterion given on purpose
    limit: int = 10_000

    def where(self) -> tuple[str, dict[str, Any]]:
        """The SQL condition and its bound parameters."""
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if self.ids:
            clauses.append("dead_letter_id IN {ids:Array(String)}")
            params["ids"] = list(self.ids)
        if self.source_topic:
            clauses.append("source_topic = {source_topic:String}")
            params["source_topic"] = self.source_topic
        if self.error_class:
            clauses.append("error_class = {error_class:String}")
            params["error_class"] = self.error_class
        if self.since is not None:
            clauses.append("failed_at >= {since:DateTime64(3, 'UTC')}")
            params["since"] = self.since
        if self.until is not None:
            clauses.append("failed_at < {until:DateTime64(3, 'UTC')}")
            params["until"] = self.until
        if not clauses and not self.everything:
            raise ReplayError(
                "choose dead letters to replay (ids, source topic, error class, time range) or all"
            )
        if not self.include_replayed:
            clauses.append("replayed_at IS NULL")
        return " AND ".join(clauses) or "1", params


@dataclass
class ReplayResult:
    selected: list[str] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def select_dead_letters(client: Any, selection: ReplaySelection) -> list[Row]:
    """The selected dead letters (deduplicated), in their original order, key and value as bytes."""
    where, params = selection.where()
    result = client.query(
        f"SELECT {', '.join(_SELECT_COLUMNS)} FROM dead_letters FINAL WHERE {where} "
        f"ORDER BY source_topic, source_partition, source_offset LIMIT {int(selection.limit)}",
        parameters=params,
        column_formats={"key": "bytes", "value": "bytes"},
    )
    return [dict(zip(_SELECT_COLUMNS, row, strict=True)) for row in result.result_rows]


def _now() -> datetime:
    return datetime.now(UTC)


def replay_dead_letters(
    client: Any,
    writer: ClickHouseWriter,
    kafka: KafkaSettings,
    selection: ReplaySelection,
    *,
    dry_run: bool = False,
    timeout: float = 30.0,
    clock: Callable[[], datetime] = _now,
    seal: DeadLetterSeal | None = None,
) -> ReplayResult:
    """Replay the selected dead letters; ``client`` and ``writer`` work on the sink's database.

    ``seal`` opens letters the sink sealed because a pseudonymisation key is set (privacy.py).
    """
    letters = select_dead_letters(client, selection)
    result = ReplayResult(selected=[str(r["dead_letter_id"]) for r in letters])
    if dry_run or not letters:
        return result
    replayed_at = clock()
    replayed_ms = int(replayed_at.timestamp() * 1000)
    producer = Producer({**kafka.confluent_config(), "enable.idempotence": True, "acks": "all"})
    delivered: set[str] = set()

    def on_delivery(letter_id: str) -> Callable[[KafkaError | None, Any], None]:
        def report(error: KafkaError | None, _message: Any) -> None:
            if error is None:
                delivered.add(letter_id)
            else:
                result.failed[letter_id] = str(error)

        return report

    for letter in letters:
        letter_id = str(letter["dead_letter_id"])
        try:
            key, value = letter["key"], letter["value"]
            if seal is not None:
                key, value = seal.open(key), seal.open(value)
            producer.produce(
                letter["source_topic"],
                key=key,
                value=value,
                partition=int(letter["source_partition"]),
                headers=[
                    (DeadLetterHeader.REPLAY_OF, letter_id.encode()),
                    (DeadLetterHeader.REPLAYED_AT, str(replayed_ms).encode()),
                ],
                on_delivery=on_delivery(letter_id),
            )
        except (KafkaException, BufferError, ValueError, TypeError) as exc:
            result.failed[letter_id] = str(exc)
        producer.poll(0)
    remaining = producer.flush(timeout)
    for letter in letters:
        letter_id = str(letter["dead_letter_id"])
        if letter_id not in delivered and letter_id not in result.failed:
            result.failed[letter_id] = (
                f"not acknowledged by the broker within {timeout}s ({remaining} pending)"
            )
    marks = [
        {**letter, "replayed_at": replayed_at, "version": replayed_ms, "ingested_at": None}
        for letter in letters
        if str(letter["dead_letter_id"]) in delivered
    ]
    try:
        ids = hashlib.sha256("\n".join(str(m["dead_letter_id"]) for m in marks).encode()).hexdigest()[:16]
        writer.insert("dead_letters", marks, token=f"replay/{replayed_ms}/{ids}")
    except SinkBackpressureError as exc:
        raise ReplayError(
            f"replayed {len(marks)} dead letters but could not mark them replayed ({exc}); running the "
            "same replay again re-sends them, which loads nothing twice (tables are keyed on event ids)"
        ) from exc
    result.replayed = [str(m["dead_letter_id"]) for m in marks]
    return result
