"""Per-partition event-time watermarks of the join's inputs.

The hot path only moves an in-memory clock per (partition, input); the ``watermarks``
table gets the latest value once per tick, inside stream iteration of that partition's
tick (so the write lands on the right changelog partition). Writing per event would have
doubled the join's changelog traffic whenever event time moves fast (a replay, a
backfill). After a restart the clocks start from the table.

Event time comes from senders, whose clocks may be wrong: one event dated days ahead would
move its partition's watermark days ahead (silence "fired" in the future, a usage drop
missed). Events further ahead of the worker's wall clock than a tolerance are refused
(dead-lettered, see :func:`require_not_future`), and a clock never moves past that bound.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.exceptions import FutureEventError
from streams.timeconv import from_ms

IDLE_INPUT_MS = 5 * 60_000

# (event time reached, wall time it last moved), both epoch ms.
Clock = tuple[int, int]


def future_problem(event_ms: int, wall_ms: int, max_ahead_ms: int) -> str | None:
    """Why an event dated ``event_ms`` is too far ahead of the wall clock (None: it is not)."""
    ahead = event_ms - wall_ms
    if ahead <= max_ahead_ms:
        return None
    return (
        f"field occurred_at {from_ms(event_ms).isoformat()} is {ahead / 3_600_000:.1f} h ahead of "
        f"the worker's clock {from_ms(wall_ms).isoformat()} (tolerance {max_ahead_ms / 3_600_000:g} h)"
    )


def require_not_future(event_ms: int, wall_ms: int, max_ahead_ms: int) -> None:
    """Raise :class:`FutureEventError` (so the event is dead-lettered) if it is too far ahead."""
    problem = future_problem(event_ms, wall_ms, max_ahead_ms)
    if problem is not None:
        raise FutureEventError(problem)


def combine_watermarks(inputs: list[Clock], now_wall_ms: int) -> int | None:
    """The event time all join inputs of a partition have reached.

    ``inputs`` holds (event time reached, wall time it was recorded) per input. The minimum,
    so one topic read ahead of the other never makes the other's users look idle (in a
    replay both inputs flow, and the minimum holds). An input with nothing new for
    ``IDLE_INPUT_MS`` of wall time is idle, not slow, and stops holding the watermark back
    (Flink's idleness rule); else a partition with little community activity would never
    judge absence at all.
    """
    active = [event_ms for event_ms, wall_ms in inputs if now_wall_ms - wall_ms < IDLE_INPUT_MS]
    candidates = active or [event_ms for event_ms, _ in inputs]
    return min(candidates) if candidates else None


class InputClocks:
    """How far each join input of each partition has got in event time."""

    def __init__(self, inputs: Iterable[str], max_ahead_ms: int | None = None) -> None:
        self.inputs = tuple(inputs)
        self.max_ahead_ms = max_ahead_ms
        self._clocks: dict[tuple[int, str], Clock] = {}

    def advance(self, partition: int, topic: str, event_ms: int, wall_ms: int) -> None:
        if self.max_ahead_ms is not None and future_problem(event_ms, wall_ms, self.max_ahead_ms):
            return  # refused upstream; never lets one sender's clock move the partition's
        key = (partition, topic)
        current = self._clocks.get(key)
        if current is None or event_ms >= current[0]:
            self._clocks[key] = (event_ms, wall_ms)

    def restore(self, partition: int, topic: str, stored: Clock) -> None:
        """Start from a persisted clock unless this worker has already seen newer events."""
        key = (partition, topic)
        if key not in self._clocks or self._clocks[key][0] < stored[0]:
            self._clocks[key] = stored

    def get(self, partition: int, topic: str) -> Clock | None:
        return self._clocks.get((partition, topic))

    def watermark(self, partition: int, now_wall_ms: int) -> int | None:
        seen = [c for c in (self.get(partition, topic) for topic in self.inputs) if c is not None]
        return combine_watermarks(seen, now_wall_ms)

    def forget(self, partitions: Iterable[int]) -> None:
        """A partition this worker no longer owns: its clocks will be read again from the table."""
        gone = set(partitions)
        self._clocks = {k: v for k, v in self._clocks.items() if k[0] not in gone}
