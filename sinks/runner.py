"""The sink: Kafka topics -> ClickHouse tables, without loss and without duplicates.

At-least-once into idempotent tables: offsets are committed only after ClickHouse has
acknowledged every insert of the batch. A crash in between re-delivers the batch; the
identical re-insert carries the same deduplication token and is dropped by ClickHouse,
and a differently-cut re-insert collapses in the ReplacingMergeTree tables (FINAL). While
the warehouse is down the sink keeps its batch, pauses consumption (memory stays bounded)
and retries with exponential backoff.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.exceptions import DataError
from confluent_kafka import Consumer, Message, TopicPartition

from infra.settings import Settings
from schemas.catalog import SchemaCatalog
from schemas.exceptions import DeserializationError
from schemas.serde import serde_from_settings
from schemas.topics import (
    CHURN_TRIGGERS,
    DEAD_LETTERS,
    ENGAGEMENT_SCORES,
    IDENTITY_LINKS,
    IDENTITY_REFUSALS,
    MENTOR_SUGGESTIONS,
    RELATIONSHIP_EDGES,
)
from sinks.batching import Batch, backoff_delays, dedup_token
from sinks.exceptions import SinkBackpressureError
from sinks.rows import dead_letter_row, row_for

log = logging.getLogger(__name__)

# The resolved (canonical id filled in) event streams the workers write.
RESOLVED_EVENTS = ("product-by-user", "community-by-user")
SINK_TOPICS = (*RESOLVED_EVENTS, IDENTITY_LINKS, IDENTITY_REFUSALS, ENGAGEMENT_SCORES, CHURN_TRIGGERS,
               RELATIONSHIP_EDGES, MENTOR_SUGGESTIONS, DEAD_LETTERS)


def _header(headers: dict[str, bytes], name: str, default: str = "") -> str:
    value = headers.get(name)
    return value.decode(errors="replace") if value is not None else default


class Sink:
    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        cfg = settings.sink
        self.serde = serde_from_settings(settings.kafka, SchemaCatalog.load())
        wh = settings.warehouse
        self.client = client or clickhouse_connect.get_client(
            host=wh.host, port=wh.port, username=wh.username, password=wh.password.get_secret_value(),
            database=wh.database, secure=wh.secure, compress=wh.compress,
        )
        self.topics = [settings.topics.name(t) for t in SINK_TOPICS]
        self.consumer = Consumer({
            **settings.kafka.confluent_config(),
            "group.id": settings.topics.name(cfg.group_id),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
        })
        self.batch = Batch(cfg.batch_max_rows, cfg.batch_max_seconds)
        self.rows_written: Counter[str] = Counter()
        self.paused = False
        self.pauses = 0
        self._delays = backoff_delays(cfg.backoff_initial_s, cfg.backoff_max_s)
        self._retry_at = 0.0

    # -- decoding ---------------------------------------------------------------------
    def _route(self, msg: Message, now: datetime) -> tuple[str, dict[str, Any]]:
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        headers = {k: v for k, v in (msg.headers() or [])}
        if topic == self.settings.topics.name(DEAD_LETTERS):
            failed_ms = int(_header(headers, "failed_at", "0") or 0)
            return "dead_letters", dead_letter_row(
                source_topic=_header(headers, "source_topic", topic),
                source_partition=int(_header(headers, "source_partition", "-1")),
                source_offset=int(_header(headers, "source_offset", "-1")),
                stage=_header(headers, "stage", "unknown"),
                error_class=_header(headers, "error_class"),
                error=_header(headers, "error"),
                key=msg.key(),
                value=msg.value(),
                failed_at=datetime.fromtimestamp(failed_ms / 1000, tz=UTC) if failed_ms else now,
                now=now,
            )
        try:
            record = self.serde.decode(msg.value(), topic=topic, partition=partition, offset=offset)
            return row_for(record, topic, partition, offset, now)
        except (DeserializationError, TypeError) as exc:
            # Not lost: the sink's own bad input becomes a dead letter row too.
            return "dead_letters", dead_letter_row(
                source_topic=topic, source_partition=partition, source_offset=offset, stage="sink",
                error_class=type(exc).__name__, error=str(exc), key=msg.key(), value=msg.value(),
                failed_at=now, now=now,
            )

    # -- the loop ---------------------------------------------------------------------
    def poll_once(self, timeout: float = 0.2) -> int:
        """Consume what is there (unless paused), flush when due; returns messages consumed."""
        consumed = 0
        now = datetime.now(UTC)
        # Poll even while paused: paused partitions return nothing, but the poll keeps the
        # consumer in its group (max.poll.interval.ms) and serves rebalances.
        for msg in self.consumer.consume(num_messages=1000, timeout=timeout):
            if msg.error():
                log.warning("consumer error: %s", msg.error())
                continue
            table, row = self._route(msg, now)
            self.batch.add(msg.topic(), msg.partition(), msg.offset(), table, row)
            consumed += 1
        if self.batch.rows >= self.settings.sink.max_buffered_rows:
            self._pause()
        if self.batch.due() and time.monotonic() >= self._retry_at:
            try:
                self.flush()
            except SinkBackpressureError as exc:
                delay = next(self._delays)
                self._retry_at = time.monotonic() + delay
                log.warning("%s; retrying in %.1fs", exc, delay)
                self._pause()
        return consumed

    def flush(self) -> None:
        """Insert every buffered row, then commit the offsets they came from."""
        if not self.batch.partitions:
            return
        for (topic, partition), buffer in self.batch.partitions.items():
            for table, rows in buffer.rows.items():
                self._insert(table, rows, dedup_token(table, topic, partition, buffer.first_offset, buffer.last_offset))
        if self.settings.sink.fail_point == "after_insert":
            log.error("fail point: exiting between insert and offset commit")
            os._exit(17)
        offsets = [TopicPartition(t, p, b.last_offset + 1) for (t, p), b in self.batch.partitions.items()]
        self.consumer.commit(offsets=offsets, asynchronous=False)
        self.batch.clear()
        self._delays = backoff_delays(self.settings.sink.backoff_initial_s, self.settings.sink.backoff_max_s)
        self._retry_at = 0.0
        self._resume()

    def _insert(self, table: str, rows: list[dict[str, Any]], token: str) -> None:
        try:
            self._insert_rows(table, rows, token)
        except DataError:
            # Rows the client cannot encode would block the sink forever: load the good
            # ones one by one and turn the bad ones into dead letters.
            for i, row in enumerate(rows):
                try:
                    self._insert_rows(table, [row], f"{token}#{i}")
                except DataError as exc:
                    self._insert_rows("dead_letters", [self._unloadable(table, row, exc)], f"{token}#{i}#dl")
                    continue
                except Exception as exc:
                    raise SinkBackpressureError(f"insert into {table} failed: {exc}") from exc
        except Exception as exc:
            raise SinkBackpressureError(f"insert into {table} failed: {exc}") from exc

    def _insert_rows(self, table: str, rows: list[dict[str, Any]], token: str) -> None:
        columns = list(rows[0])
        self.client.insert(
            table,
            [[row[c] for c in columns] for row in rows],
            column_names=columns,
            # The sink batches itself: no server-side async batching, and the token lets
            # ClickHouse drop a retried identical block.
            settings={"async_insert": 0, "insert_deduplication_token": token},
        )
        self.rows_written[table] += len(rows)

    @staticmethod
    def _unloadable(table: str, row: dict[str, Any], exc: Exception) -> dict[str, Any]:
        now = datetime.now(UTC)
        return dead_letter_row(
            source_topic=str(row.get("kafka_topic", table)), source_partition=int(row.get("kafka_partition", -1)),
            source_offset=int(row.get("kafka_offset", -1)), stage=f"sink:{table}", error_class=type(exc).__name__,
            error=str(exc), key=None, value=repr(row).encode(), failed_at=now, now=now,
        )

    def _pause(self) -> None:
        if not self.paused:
            self.consumer.pause(self.consumer.assignment())
            self.paused = True
            self.pauses += 1

    def _resume(self) -> None:
        if self.paused:
            self.consumer.resume(self.consumer.assignment())
            self.paused = False

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        try:
            self.flush()
        except SinkBackpressureError:
            for tp in partitions:  # the next owner re-reads them from the committed offset
                self.batch.drop(tp.topic, tp.partition)

    def run(self, until: Callable[[Sink], bool] | None = None) -> None:
        """Consume until ``until(self)`` is true (forever when None); flushes before returning."""
        self.consumer.subscribe(self.topics, on_revoke=self._on_revoke)
        try:
            while until is None or not until(self):
                self.poll_once()
            self.flush()
        finally:
            self.consumer.close()
