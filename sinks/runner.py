"""The sink: Kafka topics -> ClickHouse tables, losing nothing and duplicating nothing.

At-least-once into idempotent tables. Offsets are committed (synchronously, exactly the
offsets flushed) only after ClickHouse acknowledged every insert of a batch. Inserts run
on one background thread, one round (the sealed batches, in order) at a time, while the
main thread consumes and decodes the next messages; the main thread commits a round's
offsets once the round is back, so a commit never runs ahead of its insert. A crash in
between re-delivers the batch: re-cut identically it carries the same deduplication
token and ClickHouse drops it at insert time; cut differently, its rows collapse in the
ReplacingMergeTree tables (FINAL / *_final views). While the warehouse fails, sealed
batches are kept and retried with exponential backoff, and once ``max_buffered_rows``
messages are held the consumer's partitions are paused, so memory stays bounded; they
resume as soon as inserts succeed again. See docs/sink.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaException, TopicPartition

from foundation.names import RESOLVED_EVENTS
from foundation.settings import Settings
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde, serde_from_settings
from schemas.topics import (
    ACCOUNT_HEALTH,
    CHURN_TRIGGERS,
    DEAD_LETTERS,
    ENGAGEMENT_SCORES,
    IDENTITY_LINKS,
    IDENTITY_REFUSALS,
    MENTOR_SUGGESTIONS,
    RELATIONSHIP_EDGES,
)
from sinks.batching import Batcher, PartitionBatch, backoff_delay, group_token
from sinks.exceptions import SinkBackpressureError
from sinks.metrics import SinkMetrics
from sinks.privacy import RowPrivacy
from sinks.progress import SinkStats, consumer_lag, progress_line
from sinks.routing import Router
from sinks.writer import ClickHouseWriter

log = logging.getLogger(__name__)

# The resolved (canonical id filled in) event streams the workers write.
SINK_TOPICS = (
    *RESOLVED_EVENTS,
    IDENTITY_LINKS,
    IDENTITY_REFUSALS,
    ENGAGEMENT_SCORES,
    CHURN_TRIGGERS,
    RELATIONSHIP_EDGES,
    MENTOR_SUGGESTIONS,
    ACCOUNT_HEALTH,
    DEAD_LETTERS,
)
POLL_BATCH = 500
PROGRESS_EVERY_S = 10.0
SHUTDOWN_ATTEMPTS = 3


@dataclass
class _Round:
    """What one insert round did: the batches inserted (in order) and the failure that stopped it."""

    inserted: list[PartitionBatch] = field(default_factory=list)
    failure: SinkBackpressureError | None = None


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
        metrics: SinkMetrics | None = None,
        after_insert: Callable[[SinkStats, PartitionBatch], None] | None = None,
    ) -> None:
        """``after_insert`` is called after each insert, before its offsets are committed
        (on the insert thread): the seam the crash tests kill the process at."""
        self.settings = settings
        self._after_insert = after_insert
        self.metrics = metrics or SinkMetrics()
        cfg = settings.sink
        self.topics = [settings.topics.name(t) for t in (topics or SINK_TOPICS)]
        self.group_id = group_id or settings.topics.name(cfg.group_id)
        self.router = Router(
            serde or serde_from_settings(settings.kafka, SchemaCatalog.load()),
            settings.topics.name(DEAD_LETTERS),
            privacy=RowPrivacy.from_settings(settings.privacy),
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
                # The broker answers a fetch at once when data is there; this bounds the wait
                # when it is not (librdkafka's 500 ms default showed as half a second of lag).
                "fetch.wait.max.ms": cfg.fetch_max_wait_ms,
            }
        )
        self._attempt = 0
        self._retry_at = 0.0
        self._last_progress = time.monotonic()
        # One thread: rounds are inserted strictly in order, one at a time.
        self._inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-insert")
        self._in_flight: Future[_Round] | None = None

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
            self._inserter.shutdown(wait=True)
            self.consumer.close()
        return self.stats

    def poll_once(self, timeout: float | None = None) -> int:
        """Consume what is there (little while paused), flush what is due; return messages consumed."""
        bound = self.settings.sink.max_buffered_rows
        if timeout is None:  # wait no longer than a fraction of the freshness bound
            timeout = min(0.2, self.settings.sink.batch_max_seconds / 5)
        # Paused partitions return nothing, but polling keeps the consumer in its group
        # (max.poll.interval.ms) and serves rebalances; the timeout paces the retries.
        room = 1 if self.stats.paused else max(1, min(POLL_BATCH, bound - self.batcher.buffered))
        consumed = 0
        route, add = self.router.route_values, self.batcher.add
        dead_letters = self.router.dead_letters_topic
        reached: dict[tuple[str, int], int] = {}
        per_topic: dict[str, int] = {}
        for message in self.consumer.consume(num_messages=room, timeout=timeout):
            if message.error() is not None:
                log.warning("consumer error: %s", message.error())
                continue
            table, values = route(message)
            # Set on every message that is not an error.
            topic, partition, offset = message.topic() or "", message.partition() or 0, message.offset() or 0
            if table == "dead_letters" and topic != dead_letters:
                self.stats.dead_lettered += 1
                self.metrics.dead_lettered(values)
            add(topic, partition, offset, table, values)
            reached[(topic, partition)] = offset
            per_topic[topic] = per_topic.get(topic, 0) + 1
            consumed += 1
        self.stats.consumed += consumed
        self.metrics.polled(per_topic, self.consumer)
        self._note_buffered()
        if self.batcher.buffered >= bound:
            self._pause()
        try:
            # The last round's inserts done: commit them, then hand over the next round.
            self._collect(wait=False)
            if self._in_flight is None:
                # A backlog waiting on the broker: let batches grow (fewer, larger inserts).
                self._start_round(backlog=self._waiting(reached) > self.settings.sink.batch_max_rows)
        except SinkBackpressureError:
            pass  # counted and scheduled for retry in _finish_round()
        if self.stats.paused and self.batcher.buffered < bound:
            self._resume()
        return consumed

    def flush(self, *, force: bool = False, partitions: Sequence[tuple[str, int]] | None = None) -> int:
        """Insert the sealed batches (sealing due ones first), then commit their offsets; in this thread.

        Waits for the round in flight first (and commits it). Returns the batches finished.
        Raises :class:`SinkBackpressureError` when an insert failed; the failed batch and
        those after it stay buffered for the next attempt.
        """
        finished = self._collect(wait=True)
        if not force and time.monotonic() < self._retry_at:
            return finished
        self.batcher.seal_due(force=force, partitions=partitions)
        return finished + self._finish_round(self._insert_round(self.batcher.units(partitions)))

    def _waiting(self, reached: dict[tuple[str, int], int]) -> int:
        """Messages still on the broker behind those just consumed (the fetches' high watermarks)."""
        waiting = 0
        for (topic, partition), offset in reached.items():
            _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            waiting += max(0, high - offset - 1)
        return waiting

    def _start_round(self, backlog: bool = False) -> None:
        """Hand the sealed batches (sealing due ones first) to the insert thread.

        Under a ``backlog`` (more than ``batch_max_rows`` messages still on the broker behind
        those just consumed) the age bound cuts nothing: it is there for freshness, and the
        sink is far behind anyway. Batches are then cut by count, or
        all at once when half of ``max_buffered_rows`` is held, which leaves room to consume
        on while they are inserted.
        """
        if time.monotonic() < self._retry_at:
            return
        if not backlog:
            self.batcher.seal_due()
        elif self.batcher.buffered >= self.settings.sink.max_buffered_rows // 2:
            self.batcher.seal_due(force=True)
        units = self.batcher.units()
        if units:
            self._in_flight = self._inserter.submit(self._insert_round, units)

    def _collect(self, *, wait: bool) -> int:
        """Commit the round in flight if it is back (``wait``: once it is); return batches finished."""
        future = self._in_flight
        if future is None or (not wait and not future.done()):
            return 0
        self._in_flight = None
        return self._finish_round(future.result())

    def _insert_round(self, units: list[list[PartitionBatch]]) -> _Round:
        """Insert units (a batch, or a group of batches) in order, stopping at the first failure.

        Runs on the insert thread.
        """
        done = _Round()
        for unit in units:
            try:
                self._insert(unit)
            except SinkBackpressureError as exc:
                done.failure = exc
                break
            done.inserted.extend(unit)
        return done

    def _finish_round(self, done: _Round) -> int:
        """Commit what a round inserted; on a failure schedule the retry and raise it."""
        if done.inserted:
            self._commit(done.inserted)
        failure = done.failure
        if failure is not None:
            self._attempt += 1
            delay = backoff_delay(
                self._attempt, self.settings.sink.backoff_initial_s, self.settings.sink.backoff_max_s
            )
            self._retry_at = time.monotonic() + delay
            self.stats.insert_failures += 1
            self.metrics.insert_failures.labels(failure.table).inc()
            self.stats.last_error = str(failure)
            log.warning(
                "%s; retry %d in %.1fs (%d messages buffered)",
                failure,
                self._attempt,
                delay,
                self.batcher.buffered,
            )
            raise failure
        if done.inserted:
            self._attempt, self._retry_at = 0, 0.0
        return len(done.inserted)

    def _insert(self, unit: list[PartitionBatch]) -> None:
        """One insert per table for the unit's rows (a group's batches together, in order)."""
        tables = {table: None for batch in unit for table in batch.rows}
        for table in tables:
            rows = [row for batch in unit for row in batch.rows.get(table, ())]
            self.writer.insert_values(table, rows, group_token(table, [b for b in unit if table in b.rows]))
            self.stats.rows[table] += len(rows)
            self.metrics.rows.labels(table).inc(len(rows))
        self.stats.batches_inserted += len(unit)
        if self._after_insert is not None:
            self._after_insert(self.stats, unit[-1])

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
        self.metrics.buffered.set(self.batcher.buffered)
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
        try:
            self._collect(wait=True)  # its batches must be back before any is forgotten
        except SinkBackpressureError:
            pass
        for tp in partitions:
            self.batcher.drop(tp.topic, tp.partition)
        self._note_buffered()

    # -- progress ---------------------------------------------------------------------
    def lag(self, timeout: float = 5.0, cached: bool = False) -> dict[str, int]:
        """Messages not yet committed (so not known to be in the warehouse), per ``topic[partition]``.

        ``cached`` uses the high watermarks of the last fetches instead of asking the broker.
        """
        return consumer_lag(self.consumer, timeout, cached)

    def _log_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        try:
            lag: int | str = sum(self.lag(timeout=1.0, cached=True).values())
        except KafkaException as exc:
            lag = f"unknown ({exc})"
        log.info("%s", progress_line(self.stats, lag))
