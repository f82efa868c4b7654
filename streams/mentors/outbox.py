"""What a join partition sends the mentor matcher: records in release order, and its clock.

The join releases events in one event-time order (streams/ordering.py); the help requests
and solutions made from one release of a join partition go out after its fold, stamped
with the tag of their event, the join partition, and their event's place in the input.
The last record on each mentor input partition also carries the join partition's
watermark (every event before it has been released). Each mentor input partition is also
told, in a record of its own (``MentorClock``), the watermarks of the worker's join
partitions that moved since it was last told them, at most every
``worker.mentor_clock_report_ms`` for the whole worker (one record per mentor input
partition for all its join partitions), and each once a second regardless, so a
restarted matcher hears of every join partition (mentors/ordering.py).
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
        self._now = clock
        self._pending: dict[int, list[HelpRequest | Solution]] = {}
        # The latest clock of each join partition this worker owns, when it last sent
        # clock-only reports, and per destination (topic, partition) what it told there
        # of each join partition and when.
        self._clocks: dict[int, SourceClock] = {}
        self._reported_at = float("-inf")
        self._told: dict[tuple[str, int], dict[int, tuple[SourceClock, float]]] = {}

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
        """After a fold of ``sender``: its records, then clocks where they moved."""
        now = self._now()
        records = self._pending.pop(sender, [])
        clock = SourceClock(watermark, idle) if watermark is not None else None
        routed = [(self._destination(record), record) for record in records]
        last = {dest: i for i, (dest, _) in enumerate(routed)}
        for i, (dest, record) in enumerate(routed):
            # Only the last record of the fold on a partition may carry the watermark: the
            # ones after an earlier record have smaller tags and would not be waited for.
            if clock is not None and watermark is not None and last[dest] == i:
                if record.tag is not None and watermark >= record.tag:
                    record.clock_ms, record.idle = watermark, idle
                    self._told.setdefault(dest, {})[sender] = (clock, now)
            key = record.error_class.encode()
            self._producer.produce(dest[0], record.dumps(serializer="json"), key, partition=dest[1])
            self._outputs[dest[0]] += 1
        if clock is not None:
            self._clocks[sender] = clock
        if now - self._reported_at >= self._report_every_s:
            self._reported_at = now
            self._report(now)

    def _report(self, now: float) -> None:
        """To each mentor input partition, one record with the clocks it has not been told
        (or not for a second: a restarted matcher waits to hear of every join partition)."""
        for dest in self._destinations():
            told = self._told.setdefault(dest, {})
            news = {
                s: c
                for s, c in self._clocks.items()
                if s not in told or told[s][0] != c or now - told[s][1] >= _HEARTBEAT_S
            }
            if news:
                self._send_clocks(dest, news)
                for s, c in news.items():
                    told[s] = (c, now)

    def _send_clocks(self, dest: tuple[str, int], clocks: dict[int, SourceClock]) -> None:
        senders = sorted(clocks)
        value = MentorClock(
            senders=senders,
            at_ms=[clocks[s].at_ms for s in senders],
            idle=[clocks[s].idle for s in senders],
        )
        self._producer.produce(dest[0], value.dumps(serializer="json"), b"clock", partition=dest[1])
        self._outputs[dest[0]] += 1

    def hand_back(self, senders: set[int]) -> None:
        """Join partitions this worker no longer owns: until their next owner reports, the
        matcher waits for them (one last reported idle may have events again)."""
        gone = {s: SourceClock(self._clocks[s].at_ms, False) for s in senders if s in self._clocks}
        for sender in senders:
            self._pending.pop(sender, None)
            self._clocks.pop(sender, None)
            for told in self._told.values():
                told.pop(sender, None)
        if gone:
            for dest in self._destinations():
                self._send_clocks(dest, gone)

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
