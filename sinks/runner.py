"""The sink: Kafka topics -> ClickHouse tables, losing nothing and duplicating nothing.

At-least-once into idempotent tables. Offsets are committed (synchronously, exactly the
offsets flushed) only after ClickHouse acknowledged every insert of a batch. A crash in
between re-delivers the batch: re-cut identically it carries the same deduplication
token and ClickHouse drops it at insert time; cut differently, its rows collapse in the
ReplacingMergeTree tables (FINAL / *_final views). While the warehouse fails, sealed
batches are kept and retried with exponential backoff, and once ``max_buffered_rows``
messages are held the consumer's partitions are paused, so memory stays bounded; they
resume as soon as inserts succeed again. See docs/sink.md.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaException, TopicPartition

from infra.settings import Settings
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde, serde_from_settings
from schemas.topics import (
    CHURN_TRIGGERS,
    DEAD_LETTERS,
    ENGAGEMENT_SCORES,
    IDENTITY_LINKS,
    IDENTITY_REFUSALS,
    MENTOR_SUGGESTIONS,
    RELATIONSHIP_EDGES,
)
from sinks.batching import Batcher, PartitionBatch, backoff_delay
from sinks.exceptions import SinkBackpressureError
from sinks.routing import KafkaRecord, Router
from sinks.writer import ClickHouseWriter

log = logging.getLogger(__name__)

# The resolved (canonical id filled in) event streams the workers write.
RESOLVED_EVENTS = ("product-by-user", "community-by-user")
SINK_TOPICS = (
    *RESOLVED_EVENTS,
    IDENTITY_LINKS,
    IDENTITY_REFUSALS,
    ENGAGEMENT_SCORES,
    CHURN_TRIGGERS,
    RELATIONSHIP_EDGES,
    MENTOR_SUGGESTIONS,
    DEAD_LETTERS,
)
POLL_BATCH = 500
PROGRESS_EVERY_S = 10.0
SHUTDOWN_ATTEMPTS = 3


@dataclass
class SinkStats:
    """Progress counters (read by tests, the CLI's progress log and the demo)."""

    consumed: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    batches_inserted: int = 0
    insert_failures: int = 0
    commits: int = 0
    commit_failures: int = 0
    pauses: int = 0
    paused: bool = False
    buffered: int = 0
    max_buffered: int = 0
    last_error: str | None = None


class Sink:
    """Consume ``topics`` (base names; default: every sink topic) into the warehouse."""

    def __init__(
        self,
        settings: Settings,
        *,
        topics: Sequence[str] | None = None,
        group_id: str | None = None,
        writer: ClickHouseWriter | None = None,
        serde: AvroSerde | None = None,
    ) -> None:
        self.settings = settings
        cfg = settings.sink
        self.topics = [settings.topics.name(t) for t in (topics or SINK_TOPICS)]
        self.group_id = group_id or settings.topics.name(cfg.group_id)
        self.router = Router(
            serde or serde_from_settings(settings.kafka, SchemaCatalog.load()),
            settings.topics.name(DEAD_LETTERS),
        )
        self.writer = writer or ClickHouseWriter.from_settings(settings.warehouse)
        self.batcher = Batcher(cfg.batch_max_rows, cfg.batch_max_seconds)
        self.stats = SinkStats()
        self.consumer = Consumer(
            {
                **settings.kafka.confluent_config(),
                "group.id": self.group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": cfg.session_timeout_ms,
                # Bounds what librdkafka prefetches per partition on top of the sink's backlog.
                "queued.max.messages.kbytes": 16384,
            }
        )
        self._attempt = 0
        self._retry_at = 0.0
        self._last_progress = time.monotonic()

    @property
    def rows_written(self) -> Counter[str]:
        """Rows acknowledged by ClickHouse, per table."""
        return self.stats.rows

    # -- the loop ---------------------------------------------------------------------
    def run(
        self,
        *,
        stop: threading.Event | None = None,
        until: Callable[[Sink], bool] | None = None,
        max_idle: float | None = None,
    ) -> SinkStats:
        """Consume until ``stop`` is set, ``until(self)`` holds, or nothing arrived for ``max_idle``
        seconds with nothing buffered; then flush what is buffered and leave the group."""
        self.consumer.subscribe(
            self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        idle_since = time.monotonic()
        try:
            while not (stop is not None and stop.is_set()) and not (until is not None and until(self)):
                if self.poll_once():
                    idle_since = time.monotonic()
                elif (
                    max_idle is not None
                    and self.batcher.buffered == 0
                    and time.monotonic() - idle_since >= max_idle
                ):
                    break
                self._log_progress()
            self._flush_on_shutdown()
        finally:
            self.consumer.close()
        return self.stats

    def poll_once(self, timeout: float = 0.2) -> int:
        """Consume what is there (little while paused), flush what is due; return messages consumed."""
        bound = self.settings.sink.max_buffered_rows
        # Paused partitions return nothing, but polling keeps the consumer in its group
        # (max.poll.interval.ms) and serves rebalances; the timeout paces the retries.
        room = 1 if self.stats.paused else max(1, min(POLL_BATCH, bound - self.batcher.buffered))
        consumed = 0
        for message in self.consumer.consume(num_messages=room, timeout=timeout):
            error = message.error()
            if error is not None:
                log.warning("consumer error: %s", error)
                continue
            record = KafkaRecord.of(message)
            table, row = self.router.route(record)
            if table == "dead_letters" and record.topic != self.router.dead_letters_topic:
                self.stats.dead_lettered += 1
            self.batcher.add(record.topic, record.partition, record.offset, table, row)
            consumed += 1
        self.stats.consumed += consumed
        self._note_buffered()
        if self.batcher.buffered >= bound:
            self._pause()
        try:
            self.flush()
        except SinkBackpressureError:
            pass  # counted and scheduled for retry in flush()
        if self.stats.paused and self.batcher.buffered < bound:
            self._resume()
        return consumed

    def flush(self, *, force: bool = False, partitions: Sequence[tuple[str, int]] | None = None) -> int:
        """Insert the sealed batches (sealing due ones first), then commit their offsets.

        Returns the batches finished. Raises :class:`SinkBackpressureError` when an insert
        failed; the failed batch and those after it stay buffered for the next attempt.
        """
        if not force and time.monotonic() < self._retry_at:
            return 0
        self.batcher.seal_due(force=force, partitions=partitions)
        inserted: list[PartitionBatch] = []
        failure: SinkBackpressureError | None = None
        for batch in self.batcher.sealed(partitions):
            try:
                self._insert(batch)
            except SinkBackpressureError as exc:
                failure = exc
                break
            inserted.append(batch)
        if inserted:
            self._commit(inserted)
        if failure is not None:
            self._attempt += 1
            delay = backoff_delay(
                self._attempt, self.settings.sink.backoff_initial_s, self.settings.sink.backoff_max_s
            )
            self._retry_at = time.monotonic() + delay
            self.stats.insert_failures += 1
            self.stats.last_error = str(failure)
            log.warning(
                "%s; retry %d in %.1fs (%d messages buffered)",
                failure,
                self._attempt,
                delay,
                self.batcher.buffered,
            )
            raise failure
        if inserted:
            self._attempt, self._retry_at = 0, 0.0
        return len(inserted)

    def _insert(self, batch: PartitionBatch) -> None:
        for table, rows in batch.rows.items():
            self.writer.insert(table, rows, batch.token(table))
        for table, rows in batch.rows.items():
            self.stats.rows[table] += len(rows)
        self.stats.batches_inserted += 1
        crash_after = self.settings.sink.crash_after_batches
        if crash_after and self.stats.batches_inserted >= crash_after:
            # Failure tests: die like a crashed host, after the insert and before the commit.
            log.error(
                "crash_after_batches=%d: SIGKILL before committing %s[%d] up to %d",
                crash_after,
                batch.topic,
                batch.partition,
                batch.last_offset,
            )
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)

    def _commit(self, batches: list[PartitionBatch]) -> None:
        offsets: dict[tuple[str, int], int] = {}
        for batch in batches:
            offsets[batch.key] = max(offsets.get(batch.key, 0), batch.commit_offset)
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
            )
            self.stats.commits += 1
        except KafkaException as exc:
            # The rows are in; if these offsets are re-read, the re-insert is deduplicated.
            self.stats.commit_failures += 1
            self.stats.last_error = f"commit failed: {exc}"
            log.warning("offset commit failed (rows are in; a re-delivery is deduplicated): %s", exc)
        for batch in batches:
            self.batcher.finish(batch)
        self._note_buffered()

    def _flush_on_shutdown(self) -> None:
        for attempt in range(1, SHUTDOWN_ATTEMPTS + 1):
            try:
                self.flush(force=True)
                return
            except SinkBackpressureError:
                if attempt < SHUTDOWN_ATTEMPTS:
                    time.sleep(backoff_delay(attempt, self.settings.sink.backoff_initial_s, 2.0))
        log.warning(
            "stopping with %d messages not in the warehouse: uncommitted, they are re-read on restart",
            self.batcher.buffered,
        )

    # -- backpressure -----------------------------------------------------------------
    def _note_buffered(self) -> None:
        self.stats.buffered = self.batcher.buffered
        self.stats.max_buffered = max(self.stats.max_buffered, self.batcher.buffered)

    def _pause(self) -> None:
        if not self.stats.paused:
            self.consumer.pause(self.consumer.assignment())
            self.stats.paused = True
            self.stats.pauses += 1
            log.warning("backlog of %d messages: consumption paused", self.batcher.buffered)

    def _resume(self) -> None:
        self.consumer.resume(self.consumer.assignment())
        self.stats.paused = False
        log.info("backlog down to %d messages: consumption resumed", self.batcher.buffered)

    # -- rebalances -------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions))
        if self.stats.paused:
            # Still over the backlog bound: new partitions start paused too.
            consumer.assign(partitions)
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        try:
            self.flush(force=True, partitions=keys)
        except SinkBackpressureError:
            pass
        for topic, partition in keys:
            if self.batcher.drop(topic, partition):
                log.info("revoked %s[%d] with rows not in: its next owner re-reads them", topic, partition)
        self._note_buffered()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.batcher.drop(tp.topic, tp.partition)
        self._note_buffered()

    # -- progress ---------------------------------------------------------------------
    def lag(self, timeout: float = 5.0, cached: bool = False) -> dict[str, int]:
        """Messages not yet committed (so not known to be in the warehouse), per ``topic[partition]``.

        ``cached`` uses the high watermarks of the last fetches instead of asking the broker.
        """
        assignment = self.consumer.assignment()
        if not assignment:
            return {}
        committed = {
            (tp.topic, tp.partition): tp.offset for tp in self.consumer.committed(assignment, timeout)
        }
        lag: dict[str, int] = {}
        for tp in assignment:
            low, high = self.consumer.get_watermark_offsets(tp, timeout=timeout, cached=cached)
            if high < 0:
                continue  # nothing fetched yet (cached)
            done = committed.get((tp.topic, tp.partition), -1)
            lag[f"{tp.topic}[{tp.partition}]"] = high - (done if done >= 0 else max(low, 0))
        return lag

    def _log_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        s = self.stats
        try:
            lag: int | str = sum(self.lag(timeout=1.0, cached=True).values())
        except KafkaException as exc:
            lag = f"unknown ({exc})"
        log.info(
            "consumed %d, rows %s, dead-lettered %d, buffered %d%s, insert failures %d, lag %s",
            s.consumed,
            dict(s.rows),
            s.dead_lettered,
            s.buffered,
            " (paused)" if s.paused else "",
            s.insert_failures,
            lag,
        )
