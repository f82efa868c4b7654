"""Buffered rows per source topic-partition, flushed on size or age (pure, no I/O)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PartitionBuffer:
    first_offset: int
    last_offset: int
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


class Batch:
    """Rows waiting for the warehouse, with the offsets to commit once they are in."""

    def __init__(self, max_rows: int, max_seconds: float, clock: Any = time.monotonic) -> None:
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self._clock = clock
        self.partitions: dict[tuple[str, int], PartitionBuffer] = {}
        self.rows = 0
        self._started: float | None = None

    def add(self, topic: str, partition: int, offset: int, table: str | None, row: dict[str, Any] | None) -> None:
        """Record a consumed message; ``table`` None means nothing to load (still committed)."""
        buffer = self.partitions.get((topic, partition))
        if buffer is None:
            buffer = self.partitions[(topic, partition)] = PartitionBuffer(offset, offset)
        buffer.last_offset = offset
        if table is not None and row is not None:
            buffer.rows[table].append(row)
            self.rows += 1
        if self._started is None:
            self._started = self._clock()

    def due(self) -> bool:
        if not self.partitions:
            return False
        aged = self._started is not None and self._clock() - self._started >= self.max_seconds
        return self.rows >= self.max_rows or aged

    def drop(self, topic: str, partition: int) -> None:
        """Forget a partition's rows (revoked: its new owner re-reads them from the committed offset)."""
        buffer = self.partitions.pop((topic, partition), None)
        if buffer is not None:
            self.rows -= sum(len(r) for r in buffer.rows.values())

    def clear(self) -> None:
        self.partitions.clear()
        self.rows = 0
        self._started = None


def dedup_token(table: str, topic: str, partition: int, first: int, last: int) -> str:
    """Same messages, same token: a retried identical insert is dropped by ClickHouse."""
    return f"{table}:{topic}:{partition}:{first}-{last}"


def backoff_delays(initial: float, maximum: float) -> Any:
    """1x, 2x, 4x ... the initial delay, capped."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2, maximum)
