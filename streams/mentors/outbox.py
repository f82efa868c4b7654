"""What a join partition sends the mentor matcher: records in release order, and its clock.

The join releases events in one event-time order (streams/ordering.py); the help requests
and solutions made from one release of a join partition go out after its fold, stamped
with the tag of their event, the join partition, and their event's place in the input.
The last record on each mentor input partition also carries the join partition's
watermark (every event before it has been released). A mentor input partition that got no
record is told the watermark in a record of its own (``MentorClock``) when it moved, at
most every ``worker.mentor_clock_report_ms``, and once a second regardless, so a restarted
matcher hears of every join partition (mentors/ordering.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import faust

from streams.batches import ResolvedEntry, SourceClock
from streams.fastout import FastProducer
from streams.messages import HelpRequest, MentorClock, Solution
from streams.partitioning import partition_of

# A report that says nothing new still goes out this often: a restarted matcher waits
# for every join partition's clock before it applies anything.
_HEARTBEAT_S = 1.0


class MentorOutbox:
    """Collects a fold's mentor records per join partition and sends them with its clock."""

    def __init__(
        self,
        producer: FastProducer,
        *,
        help_topic: str,
        solutions_topic: str,
        partitions: int,
        report_every_ms: int,
        outputs: Counter[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._producer = producer
        self._help_topic = help_topic
        self._solutions_topic = solutions_topic
        self._n = partitions
        self._report_every_s = report_every_ms / 1000
        self._outputs = outputs
        self._clock = clock
        self._pending: dict[int, list[HelpRequest | Solution]] = {}
        # Per join partition: when it last sent clock-only reports, and per destination
        # (topic, partition) the clock last told there and when.
        self._reported_at: dict[int, float] = {}
        self._told: dict[int, dict[tuple[str, int], tuple[SourceClock, float]]] = {}

    def add(self, sender: int, entry: ResolvedEntry, records: list[HelpRequest | Solution]) -> None:
        """The records made from one released event, in the order of release."""
        pending = self._pending.setdefault(sender, [])
        for i, record in enumerate(records):
            record.sender = sender
            record.tag = entry.tag
            record.origin = entry.source
            record.origin_offset = entry.offset
            record.index = i
            pending.append(record)

    def send(self, sender: int, watermark: int | None, idle: bool) -> None:
        """After a fold of ``sender``: its records, then its clock where none went."""
        now = self._clock()
        records = self._pending.pop(sender, [])
        told = self._told.setdefault(sender, {})
        clock = SourceClock(watermark, idle) if watermark is not None else None
        routed = [(self._destination(record), record) for record in records]
        last = {dest: i for i, (dest, _) in enumerate(routed)}
        for i, ((topic, partition), record) in enumerate(routed):
            # Only the last record of the fold on a partition may carry the watermark: the
            # ones after an earlier record have smaller tags and would not be waited for.
            if clock is not None and clock.at_ms is not None and last[(topic, partition)] == i:
                if record.tag is not None and clock.at_ms >= record.tag:
                    record.clock_ms, record.idle = clock.at_ms, clock.idle
                    told[(topic, partition)] = (clock, now)
            key = record.error_class.encode()
            self._producer.produce(topic, record.dumps(serializer="json"), key, partition=partition)
            self._outputs[topic] += 1
        if clock is None or now - self._reported_at.get(sender, float("-inf")) < self._report_every_s:
            return
        self._reported_at[sender] = now
        value = MentorClock(sender=sender, at_ms=clock.at_ms, idle=clock.idle).dumps(serializer="json")
        for dest in self._destinations():
            if dest in last:
                continue
            before = told.get(dest)
            if before is not None and before[0] == clock and now - before[1] < _HEARTBEAT_S:
                continue
            self._producer.produce(dest[0], value, b"clock", partition=dest[1])
            self._outputs[dest[0]] += 1
            told[dest] = (clock, now)

    def hand_back(self, senders: set[int]) -> None:
        """Join partitions this worker no longer owns: until their next owner reports, the
        matcher waits for them (one last reported idle may have events again)."""
        for sender in senders:
            self._pending.pop(sender, None)
            self._reported_at.pop(sender, None)
            told = self._told.pop(sender, {})
            known = [c.at_ms for c, _ in told.values() if c.at_ms is not None]
            if not known:
                continue
            value = MentorClock(sender=sender, at_ms=min(known), idle=False).dumps(serializer="json")
            for topic, partition in self._destinations():
                self._producer.produce(topic, value, b"clock", partition=partition)
                self._outputs[topic] += 1

    def follow_revocations(self, app: faust.App, batches_topic: str) -> None:
        """Hand back the join partitions (``batches_topic``'s) the worker gives up."""

        def on_revoked(_app: Any, *args: Any, signal: Any, **_kwargs: Any) -> None:
            revoked: set[Any] = args[0]  # mode signals call receiver(sender, revoked, signal=...)
            self.hand_back({tp.partition for tp in revoked if tp.topic == batches_topic})

        # mode's handler type is a Protocol no plain function satisfies under mypy.
        app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]

    def _destination(self, record: HelpRequest | Solution) -> tuple[str, int]:
        topic = self._solutions_topic if isinstance(record, Solution) else self._help_topic
        return topic, partition_of(record.error_class, self._n)

    def _destinations(self) -> list[tuple[str, int]]:
        return [(t, p) for t in (self._solutions_topic, self._help_topic) for p in range(self._n)]
