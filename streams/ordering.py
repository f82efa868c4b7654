"""The join's input order: one event-time order across every source partition, whatever
the arrival order. (The mentor matcher orders its inputs from the join partitions the
same way, with the join partitions as sources: streams/mentors/ordering.py.)

A join partition receives events from every partition of product-events and
community-events (a user's identities may sit on several), through resolve stages that
fetch each partition at its own pace. Folded in arrival order, a user's intermediate
scores, level holds and absence judgements would depend on which fetch returned first;
two runs of the same input would differ. Here events wait until every source partition
has moved past them, then leave in one deterministic order.

- Each entry carries a *tag*: the largest event time its source partition had reached at
  it (so tags only grow along a partition, and a late event takes its place in its
  partition's order instead of jumping the queue).
- The resolve stages report each source partition's clock (the tag it has reached) and
  whether it is *idle*: read to its end and quiet for a while. An idle source does not
  hold the others back; otherwise a partition that receives nothing would stall the join.
- An entry leaves when no source that could still send an earlier one is left: ordered by
  (tag, source, offset), it must sort before every non-idle source's next possible entry.

The order depends on the input alone, except when a source marked idle later delivers an
entry with an earlier tag than entries already released (a sender that held an event back
longer than the idle delay while others went on): that entry is folded in late, as a late
event always was (docs/streams.md, "Order").
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from streams.batches import SourceClock

T = TypeVar("T")


class EventTimeMerge(Generic[T]):
    """Buffers tagged entries from many sources and releases them in one deterministic order."""

    def __init__(self, sources: Sequence[str]) -> None:
        self._rank = {source: i for i, source in enumerate(sources)}
        self._clocks: dict[str, SourceClock] = {}
        self._heap: list[tuple[int, int, int, T]] = []
        self._pending = dict.fromkeys(self._rank, 0)
        # Per source, the greatest offset buffered or released: a re-sent entry (a resolve
        # stage that restarted from its last commit) is dropped here.
        self._seen: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._heap)

    def report(self, clocks: Mapping[str, SourceClock]) -> None:
        """Take a resolve stage's report; a clock never moves back (reports may be re-sent)."""
        for source, clock in clocks.items():
            if source not in self._rank:
                continue
            known = self._clocks.get(source)
            at = clock.at_ms
            if known is not None and known.at_ms is not None and (at is None or at < known.at_ms):
                at = known.at_ms
            self._clocks[source] = SourceClock(at, clock.idle)

    def add(self, source: str, tag: int, offset: int, item: T) -> bool:
        """Buffer one entry; False if this source's entry at ``offset`` was already taken."""
        rank = self._rank.get(source)
        if rank is None:
            raise ValueError(f"entry from {source!r}, which is not a join input partition")
        if offset <= self._seen.get(source, -1):
            return False
        self._seen[source] = offset
        heapq.heappush(self._heap, (tag, rank, offset, item))
        self._pending[source] += 1
        # The entry itself says its source has reached its tag.
        known = self._clocks.get(source)
        if known is None or known.at_ms is None or known.at_ms < tag:
            self._clocks[source] = SourceClock(tag, known.idle if known is not None else False)
        return True

    def _bound(self) -> tuple[int, int] | None:
        """The smallest (tag, rank) a source with nothing buffered could still send next.

        None: no such source can (all idle or buffered). A source never heard of bounds
        everything: nothing leaves until every source has reported once.
        """
        bound: tuple[int, int] | None = None
        for source, rank in self._rank.items():
            if self._pending[source]:
                continue  # its next entry is in the heap, where the heap order handles it
            clock = self._clocks.get(source)
            if clock is not None and clock.idle:
                continue
            if clock is None or clock.at_ms is None:
                return (-(2**63), -1)
            if bound is None or (clock.at_ms, rank) < bound:
                bound = (clock.at_ms, rank)
        return bound

    def release(self) -> Iterator[tuple[int, T]]:
        """The entries that can no longer be preceded by one still to come, in order, as (tag, item)."""
        heap = self._heap
        bound = self._bound()
        ranks = list(self._rank)
        while heap:
            tag, rank, _offset, _item = heap[0]
            if bound is not None and (tag, rank) >= bound:
                return
            _, _, _, item = heapq.heappop(heap)
            source = ranks[rank]
            self._pending[source] -= 1
            if not self._pending[source]:
                bound = self._bound()  # that source now bounds by its clock
            yield tag, item

    def idle(self) -> bool:
        """Nothing buffered and every source known and idle: all read so far has been released."""
        if self._heap or len(self._clocks) < len(self._rank):
            return False
        return all(clock.idle for clock in self._clocks.values())

    def watermark(self) -> int | None:
        """An event time every entry before which has been released, or None.

        The smallest clock of the sources that are not idle; when all are idle, just past
        the latest clock (everything read has been released).
        """
        if len(self._clocks) < len(self._rank):
            return None
        active = [c.at_ms for c in self._clocks.values() if not c.idle]
        pending = self._heap[0][0] if self._heap else None  # the heap's first is its least
        if active:
            if any(at is None for at in active):
                return None
            low = min(at for at in active if at is not None)
            return low if pending is None else min(low, pending)
        known = [c.at_ms for c in self._clocks.values() if c.at_ms is not None]
        if not known:
            return None
        top = max(known) + 1
        return top if pending is None else min(top, pending)


def sources_of(topics: Iterable[str], partitions: int) -> list[str]:
    """Every source partition of the join, as entries name them ("topic:partition")."""
    return [f"{topic}:{p}" for topic in topics for p in range(partitions)]
