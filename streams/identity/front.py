"""The resolve stage: product-events and community-events read in batches by librdkafka.

faust-streaming reads a record for about half a millisecond of worker CPU whatever the
agent then does (aiokafka fetches and decodes in Python, the stream hands each event
through several tasks); at the rates a product emits, that alone filled the worker. This
stage reads the public topics with a confluent-kafka consumer, many records per call,
resolves every event against Faust's ``identities`` table and sends:

- each resolved event to product-by-user / community-by-user (for the sink),
- per destination partition, one ``user-event-batches`` record holding all of this
  batch's events for that partition (the join reads one record per batch, not per event),
- for the far end of replies, mentions and reactions, the relationship edge and an
  interaction entry to the far end's join partition,
- for the identity links of its partitions, refusals and merge entries (linkstage.py),
- events keyed by something other than their identity back to the right partition, and
  undecodable ones to dead-letters.

Identities: every stage reads every identity link and applies them in one order
(linkreader.py, linkmap.py); after reading a batch of events and before resolving it, it
reads the links to their end, and resolves each event as of its tag.

Partitions: it owns the partitions of the input topics (and of identity-links) whose
join partition Faust gave this worker. Offsets: stored only after the batch's sends are
acknowledged and committed by librdkafka's auto-commit (and at once on revocation), so a
crash replays a batch, never skips one; the join recognises the replay.

Order: every entry carries its event-time tag, and every record to the join (and, when
nothing else goes there, a record of its own at most every ``worker.clock_report_ms``)
carries this stage's clocks of the partitions it reads (clocks.py), so the join can fold
events in one event-time order whatever the arrival order (streams/ordering.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import faust
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from foundation.caching import BoundedCache
from streams.batches import ResolvedEntry, SourceClock, chunk_entries, encode_batch
from streams.context import StreamContext
from streams.errors import Action, Source, classify, is_record
from streams.fastout import FastProducer
from streams.identity.clocks import SourceClocks, decode_tag, encode_tag
from streams.identity.linkmap import LinkMap, LinkOutcome
from streams.identity.linkreader import LinkReader
from streams.identity.linkstage import LinkEmitter
from streams.identity.reports import ClockReporter
from streams.identity.resolving import EventResolver
from streams.partitioning import partition_of
from streams.timeconv import to_ms

log = logging.getLogger(__name__)


T = TypeVar("T")


def retry_until_answered(
    call: Callable[[], T | None],
    stopping: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> tuple[T | None, float | None]:
    """``call()`` until it answers (not None) or ``stopping()``; with the answer, when the
    broker answered again after failing (None: it answered at once).

    Quiet is measured again from that moment (clocks.py ``interrupted``), not from before
    the last attempt: one attempt can wait out its whole timeout while the broker is away,
    and a source judged quiet since before it was idle the moment the broker came back,
    before producers had written what they had buffered (every source reported idle in
    the first clocks after a broker restart, and later events were folded first).
    """
    result = call()
    answered_at: float | None = None
    while result is None and not stopping():
        pause(0.1)
        result = call()
        answered_at = clock()
    return result, answered_at


@dataclass(frozen=True)
class FrontTopics:
    """Topic names the stage reads and writes (with the configured prefix)."""

    links: str
    product_in: str
    community_in: str
    product_out: str
    community_out: str
    batches: str
    edges: str
    refusals: str
    dead_letters: str


class ResolveFront:
    """Reads the event topics in batches and forwards resolved events to the join."""

    def __init__(
        self, app: faust.App, ctx: StreamContext, producer: FastProducer, topics: FrontTopics
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.producer = producer
        self.topics = topics
        w = ctx.settings.worker
        self._max_batch = w.front_max_batch
        config = ctx.settings.kafka.confluent_config()
        self.consumer = Consumer(
            {
                **config,
                "group.id": ctx.topic_name(f"{w.app_id}-resolve"),
                "enable.auto.commit": True,
                "enable.auto.offset.store": False,
                "auto.commit.interval.ms": int(w.commit_interval_s * 1000),
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": w.consumer_fetch_max_wait_ms,
                "fetch.min.bytes": w.consumer_fetch_min_bytes,
            }
        )
        self.owned: set[int] = set()
        self._lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="resolve-front")
        self._wake = asyncio.Event()
        self._stopping = False
        self.clocks = SourceClocks(w.source_idle_ms)
        self._poll_s = min(0.1, w.source_idle_ms / 2000)
        n = ctx.partitions
        self._prune_at = time.monotonic() + 30
        # End offsets of the owned inputs, asked after the last read (see _fetch).
        self._ends: dict[tuple[str, int], int] = {}
        # When a catch-up last failed (set by the fetch thread, taken by the loop).
        self._interrupted_at: float | None = None
        self.reporter = ClockReporter(producer, topics.batches, n, w.clock_report_ms, ctx.health)
        # Pure functions of their key, each a sixth or seventh of the stage's CPU when
        # computed per event: the deterministic id of an unlinked identity (a UUIDv5) and
        # a canonical id's partition (murmur2 in pure Python).
        self._deterministic = BoundedCache[str, str](ctx.deterministic_id)
        self._partitions = BoundedCache[str, int](lambda canonical_id: partition_of(canonical_id, n))
        self.links = LinkMap(ctx.deterministic_id, cache=self._deterministic.get)
        self.reader = LinkReader(
            config,
            topics.links,
            n,
            ctx.serde,
            self.links,
            wall_ms=lambda: to_ms(ctx.clock()),
            max_ahead_ms=int(ctx.settings.streams.max_future_hours * 3_600_000),
            group_id=ctx.topic_name(f"{w.app_id}-links"),
        )
        self.resolver = EventResolver(
            ctx,
            producer,
            self.links,
            self.clocks,
            outputs={topics.product_in: topics.product_out, topics.community_in: topics.community_out},
            stages={topics.product_in: "resolve-product", topics.community_in: "resolve-community"},
            edges=topics.edges,
            dead_letters=topics.dead_letters,
        )
        self.emitter = LinkEmitter(
            ctx,
            producer,
            links_topic=topics.links,
            refusals_topic=topics.refusals,
            dead_letters_topic=topics.dead_letters,
            partition_of=self._partitions.get,
        )

    # -- assignment, mirrored from Faust's ------------------------------------------------
    async def sync_assignment(self) -> None:
        """After a rebalance (tables recovered): own the input partitions whose join
        partitions Faust gave us."""
        wanted = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.topics.batches}
        async with self._lock:
            added = wanted - self.owned
            if added:
                links = self._link_tps(added)
                self.consumer.incremental_assign(self._tps(added) + links)
                # Read by the link reader; assigned here only to store their offsets.
                self.consumer.pause(links)
                self._take_clocks(self._tps(added) + links)
                self.owned |= added
                # What the reader applied before we owned them is ours to send now.
                batches: dict[int, list[ResolvedEntry]] = {}
                positions: dict[tuple[str, int], int] = {}
                for p in sorted(added):
                    self._emit_links(self.reader.applied[p], batches, positions)
                self._send(batches, time.monotonic())
                await self.producer.flush()
                self._store(positions)
                log.info("resolve stage took partitions %s", sorted(added))
        self._wake.set()

    def _take_clocks(self, tps: list[TopicPartition]) -> None:
        """Start each partition's clock from the tag committed with its offset."""
        now = time.monotonic()
        for tp in self.consumer.committed(tps, timeout=10):
            start = tp.offset
            if start < 0:  # nothing committed: read from the start (auto.offset.reset)
                start, _high = self.consumer.get_watermark_offsets(
                    TopicPartition(tp.topic, tp.partition), timeout=10
                )
            if tp.topic == self.topics.links:
                self.emitter.own(tp.partition, start)
            self.clocks.take(f"{tp.topic}:{tp.partition}", decode_tag(tp.metadata), start, now)

    async def release(self, partitions: set[int]) -> None:
        """Before Faust hands these partitions on: finish, commit and let go of them."""
        async with self._lock:
            gone = partitions & self.owned
            if not gone:
                return
            await self.producer.flush()
            self._commit_now()
            self.consumer.incremental_unassign(self._tps(gone) + self._link_tps(gone))
            self.owned -= gone
            for p in gone:
                self.emitter.disown(p)
            for topic, partition in list(self.ctx.health.lag):
                if partition in gone:
                    del self.ctx.health.lag[(topic, partition)]
            self._hand_back(gone)
            await self.producer.flush()
            log.info("resolve stage released partitions %s", sorted(gone))

    def _hand_back(self, partitions: set[int]) -> None:
        """Until their next owner reports, the join waits for these partitions (one last
        reported idle may fill up while it has no owner)."""
        report = {}
        for tp in self._tps(partitions) + self._link_tps(partitions):
            source = f"{tp.topic}:{tp.partition}"
            report[source] = SourceClock(self.clocks.at(source), idle=False)
            self.clocks.drop(source)
        self.reporter.send(report, set())

    def _tps(self, partitions: set[int]) -> list[TopicPartition]:
        return [
            TopicPartition(topic, p)
            for topic in (self.topics.product_in, self.topics.community_in)
            for p in partitions
        ]

    def _link_tps(self, partitions: set[int]) -> list[TopicPartition]:
        return [TopicPartition(self.topics.links, p) for p in sorted(partitions)]

    def _commit_now(self) -> None:
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:  # noqa: SLF001  # nothing stored yet
                raise

    # -- the loop ------------------------------------------------------------------------
    def _fetch(self) -> tuple[list[Message], list[LinkOutcome], dict[tuple[str, int], int]]:
        """Block for the first record (up to 100 ms), then take what is already buffered;
        then, in one request, ask the end offsets of the identity links and of the owned
        inputs, read the links to their end and apply them. The inputs' end offsets, asked
        after this read, are what says a source is read to its end (clocks.py): exactly,
        not by librdkafka's last fetch, which may not have seen a record just written."""
        first = self.consumer.poll(self._poll_s)
        messages: list[Message] = []
        if first is not None:
            messages = [first, *self.consumer.consume(self._max_batch - 1, 0)]
        if time.monotonic() >= self._prune_at:
            self._prune_links()
        self.reader.take_buffered()
        inputs = self._tps(set(self.owned))
        caught_up, answered_at = retry_until_answered(
            lambda: self.reader.catch_up(inputs), lambda: self._stopping
        )
        if answered_at is not None:
            self._interrupted_at = answered_at
        outcomes, ends = caught_up or ([], {})
        return messages, outcomes, ends

    def _prune_links(self) -> None:
        """The link outcomes kept for a takeover need go back only to what the group has
        committed for each link partition (one broker call, every half minute)."""
        self._prune_at = time.monotonic() + 30
        tps = self._link_tps(set(range(self.ctx.partitions)))
        try:
            committed = self.consumer.committed(tps, timeout=5)
        except KafkaException as exc:
            log.warning("identity links: committed offsets not known (%s)", exc)
            return
        self.reader.prune({tp.partition: tp.offset for tp in committed if tp.offset >= 0})

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if not self.owned:
                self._wake.clear()
                await self._wake.wait()
                continue
            messages, outcomes, ends = await loop.run_in_executor(self._executor, self._fetch)
            async with self._lock:
                if self._stopping:
                    break
                self._ends.update(ends)
                if self._interrupted_at is not None:
                    self.clocks.interrupted(self._interrupted_at)
                    self._interrupted_at = None
                # Records of partitions released while this fetch ran are someone else's now.
                messages = [
                    m for m in messages if m.partition() in self.owned and m.topic() != self.topics.links
                ]
                positions, sent_to = self.process(messages, outcomes)
                self.reporter.maybe_report(self._report, sent_to)
                if not positions:
                    continue
                await self.producer.flush()
                self._store(positions)
                self._note_lag(positions)

    def _store(self, positions: Mapping[tuple[str, int], int]) -> None:
        if positions:
            self.consumer.store_offsets(
                offsets=[
                    TopicPartition(t, p, o + 1, encode_tag(self.clocks.at(f"{t}:{p}")))
                    for (t, p), o in positions.items()
                ]
            )

    def _report(self) -> dict[str, SourceClock]:
        def end(source: str) -> int:
            topic, _, partition = source.rpartition(":")
            if topic == self.topics.links:
                return self.reader.end(int(partition))
            return self._ends.get((topic, int(partition)), -1)

        return self.clocks.report(end, time.monotonic())

    async def close(self) -> None:
        """Finish the batch in hand, commit what was forwarded, leave."""
        self._stopping = True
        self._wake.set()
        async with self._lock:
            self._executor.shutdown(wait=True)  # the fetch in flight returns within 100 ms
            self._hand_back(set(self.owned))
            await self.producer.flush()
            try:
                self._commit_now()
            finally:
                self.consumer.close()
                self.reader.close()

    def _note_lag(self, positions: Mapping[tuple[str, int], int]) -> None:
        """Records behind this batch, per partition: the last fetch's high watermark (known
        locally, no broker call) minus the next offset to read. Once per batch, not per event."""
        lag = self.ctx.health.lag
        for (topic, partition), offset in positions.items():
            if topic == self.topics.links:
                continue
            _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high >= 0:
                lag[(topic, partition)] = max(0, high - offset - 1)

    # -- one batch -----------------------------------------------------------------------
    def _emit_links(
        self,
        outcomes: list[LinkOutcome],
        batches: dict[int, list[ResolvedEntry]],
        positions: dict[tuple[str, int], int],
    ) -> None:
        """Send what the links of owned partitions say; their clocks move with them."""
        now = time.monotonic()
        for link in self.emitter.emit_owned(outcomes, batches):
            source = f"{self.topics.links}:{link.partition}"
            self.clocks.tag(source, link.offset, None if link.error else link.tag, now)
            positions[(self.topics.links, link.partition)] = link.offset

    def process(
        self, messages: list[Message], outcomes: list[LinkOutcome] | None = None
    ) -> tuple[Mapping[tuple[str, int], int], set[int]]:
        """Resolve and send a batch; returns the last offset handled per input partition and
        the join partitions sent to (each was sent this stage's clocks with its entries)."""
        batches: dict[int, list[ResolvedEntry]] = defaultdict(list)
        positions: dict[tuple[str, int], int] = {}
        self._emit_links(outcomes or [], batches, positions)
        now = time.monotonic()
        wall_ms = to_ms(self.ctx.clock())  # once per batch: the future check's reference
        read = self.ctx.health.inputs
        for msg in messages:
            if not is_record(msg):
                continue
            topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
            positions[(topic, partition)] = offset
            read[topic] += 1
            try:
                entries = self.resolver.resolve(msg, topic, partition, offset, now, wall_ms)
            except Exception as exc:
                if classify(exc) is Action.FATAL:
                    raise
                self.clocks.tag(f"{topic}:{partition}", offset, None, now)
                self.resolver.dead_letter(Source(topic, partition, offset, msg.key(), msg.value()), exc)
                continue
            for entry in entries:
                batches[self._partitions.get(entry.canonical_id)].append(entry)
            if entries:
                self.ctx.health.agent(self.resolver.stages[topic]).processed += 1
        return positions, self._send(batches, now)

    def _send(self, batches: Mapping[int, list[ResolvedEntry]], now: float) -> set[int]:
        """One or more batch records per destination; the clocks go with the last one."""
        report = self._report() if batches else {}
        sent = 0
        for destination, entries in batches.items():
            self.reporter.sent(destination, entries, report)
            chunks = chunk_entries(entries, self.ctx.settings.worker.forward_max_bytes - 1024)
            for i, chunk in enumerate(chunks):
                # The clocks go with the last chunk: they cover every entry of the batch.
                clocks = report if i == len(chunks) - 1 else {}
                self.producer.produce(
                    self.topics.batches, encode_batch(chunk, clocks), b"batch", partition=destination
                )
                sent += 1
        self.ctx.health.outputs[self.topics.batches] += sent
        return set(batches)
