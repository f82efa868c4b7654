"""The resolve stage's clocks of the partitions it reads: what it tells the join.

For each input partition it owns: the *tag* reached (the largest event time read so far,
in offset order, so tags only grow along a partition) and whether it is idle (read to its
end and quiet for ``idle_ms``). The join folds events in tag order and waits only for
sources that are not idle (streams/ordering.py).

The tag a partition has reached is stored with its committed offset (Kafka's commit
metadata, as Kafka Streams keeps partition time), so a stage that takes the partition
over after a crash or a rebalance tags the next events exactly as the first would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.batches import SourceClock


@dataclass
class _Source:
    at_ms: int | None
    next_offset: int  # the next offset to read (-1: not known yet)
    # Monotonic seconds of the last record read (or of taking it on, or of the last time
    # the broker did not answer): quiet is measured from here.
    last_record: float


class SourceClocks:
    """Clocks of the input partitions one resolve stage owns."""

    def __init__(self, idle_ms: int) -> None:
        self.idle_s = idle_ms / 1000
        self._sources: dict[str, _Source] = {}

    def take(self, source: str, at_ms: int | None, next_offset: int, now: float) -> None:
        """Start reading ``source`` from ``next_offset``; ``at_ms``: the tag stored with that offset."""
        self._sources[source] = _Source(at_ms, next_offset, now)

    def interrupted(self, now: float) -> None:
        """The broker did not answer: no source counts as quiet since before ``now``.

        While the broker is away, producers buffer what they send, and when it is back they
        write each partition's buffer at its own moment: a partition read to its end just
        after the outage may have events still to come. Quiet is measured again from here.
        """
        for s in self._sources.values():
            s.last_record = max(s.last_record, now)

    def drop(self, source: str) -> None:
        self._sources.pop(source, None)

    def owns(self, source: str) -> bool:
        return source in self._sources

    def tag(self, source: str, offset: int, event_ms: int | None, now: float) -> int | None:
        """Record one record read at ``offset``; returns the tag of its event (None: no event time)."""
        s = self._sources.get(source)
        if s is None:
            return event_ms
        s.next_offset = max(s.next_offset, offset + 1)
        s.last_record = now
        if event_ms is not None and (s.at_ms is None or event_ms > s.at_ms):
            s.at_ms = event_ms
        return s.at_ms

    def at(self, source: str) -> int | None:
        s = self._sources.get(source)
        return None if s is None else s.at_ms

    def report(self, high_watermark: Callable[[str], int], now: float) -> dict[str, SourceClock]:
        """Every owned source's clock; ``high_watermark(source)``: its end offset (< 0: unknown)."""
        out: dict[str, SourceClock] = {}
        for source, s in self._sources.items():
            high = high_watermark(source)
            caught_up = high >= 0 and s.next_offset >= 0 and s.next_offset >= high
            out[source] = SourceClock(s.at_ms, caught_up and now - s.last_record >= self.idle_s)
        return out


def encode_tag(at_ms: int | None) -> str:
    """Commit metadata holding a partition's tag."""
    return "" if at_ms is None else f"tag={at_ms}"


def decode_tag(metadata: str | None) -> int | None:
    if not metadata or not metadata.startswith("tag="):
        return None
    try:
        return int(metadata[4:])
    except ValueError:
        return None
