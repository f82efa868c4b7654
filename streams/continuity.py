"""A partition's records reach an agent without a hole, or the worker stops.

After a rebalance Faust (over aiokafka) can hand an agent a partition's records starting
past the committed offset, and it drops the ones in between for good: it counts them as a
gap and will not deliver offsets below the last it delivered. For the join that is lost
data: entries never folded, and once later entries of the same input are folded into a
user's state, the skipped ones read as already applied. A fault run lost 11 events'
updates this way around a worker joining and leaving.

So each partition's next offset is known: where the agent was (kept while it owns the
partition), or, for a partition it has just taken on, the committed offset Faust sought
to. A record below it is a redelivery (the agent's own checks skip what it holds); a
record above it means records were skipped, and the worker stops (``SkippedRecordsError``
is fatal) before that record is acknowledged, so the restarted worker reads them.
"""

from __future__ import annotations

from collections.abc import Callable

from streams.exceptions import SkippedRecordsError

# (topic, partition) -> the offset the group has committed, or None (none, or not known)
Committed = Callable[[str, int], int | None]


class Continuity:
    """The next offset due per (topic, partition) an agent reads."""

    def __init__(self, committed: Committed) -> None:
        self._committed = committed
        self._next: dict[tuple[str, int], int] = {}

    def check(self, topic: str, partition: int, offset: int) -> None:
        """Call before handling the record at ``offset``; raises if records were skipped."""
        key = (topic, partition)
        due = self._next.get(key)
        if due is None:
            due = self._committed(topic, partition)
        if due is not None and offset > due:
            raise SkippedRecordsError(topic, partition, offset, due)
        self._next[key] = max(offset + 1, self._next.get(key, 0))

    def forget(self, partition: int) -> None:
        """The partition went to another worker: its next owner starts from the commit."""
        for key in [k for k in self._next if k[1] == partition]:
            del self._next[key]
