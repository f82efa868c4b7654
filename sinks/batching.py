"""Per topic-partition batches, bounded by size and age (pure: no I/O, injected clock).

A partition's messages go into its open batch. The batch is sealed when it holds
``max_messages`` messages or is ``max_seconds`` old; a sealed batch never changes again,
so every retry of its insert carries the same rows and the same deduplication token.
Batches sealed together by age (``seal_due``) that are each the oldest of their partition
form a **group**: they are inserted together, one insert per table, under one token made
of theirs. A group never changes either, so its retries carry the same token too; and as
its members are their partitions' oldest batches, inserting it first keeps every
partition in order.
A batch is finished (forgotten) only after its rows are in the warehouse and its offset
is committed. Because commits always land on batch boundaries and a full batch is cut by
count, a sink restarted after a crash re-reads and re-cuts the uncommitted batches
exactly as before: same offsets, same tokens, and ClickHouse drops the repeats.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

TopicPartition = tuple[str, int]


@dataclass
class PartitionBatch:
    """Consecutive messages of one partition and the rows they became, per table."""

    topic: str
    partition: int
    first_offset: int
    last_offset: int
    opened_at: float
    messages: int = 0
    # Per table, what the writer inserts for each message (the sink: value tuples).
    rows: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    sealed: bool = False
    group: int = 0  # 0: inserted on its own

    @property
    def key(self) -> TopicPartition:
        return (self.topic, self.partition)

    @property
    def commit_offset(self) -> int:
        """The offset to commit once this batch is in: the next message to read."""
        return self.last_offset + 1

    def token(self, table: str) -> str:
        return dedup_token(table, self.topic, self.partition, self.first_offset, self.last_offset)


def dedup_token(table: str, topic: str, partition: int, first_offset: int, last_offset: int) -> str:
    """insert_deduplication_token of a batch's rows for one table: same messages, same token."""
    return f"{table}/{topic}/{partition}/{first_offset}-{last_offset}"


def group_token(table: str, batches: Iterable[PartitionBatch]) -> str:
    """The token of a group's insert into ``table``: a digest of its batches' tokens, in order."""
    tokens = [b.token(table) for b in batches]
    if len(tokens) == 1:
        return tokens[0]
    digest = hashlib.sha256("\n".join(tokens).encode()).hexdigest()[:32]
    return f"{table}/group/{len(tokens)}/{digest}"


class Batcher:
    """Open and sealed batches of every partition; ``buffered`` counts their messages."""

    def __init__(
        self, max_messages: int, max_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_messages < 1 or max_seconds <= 0:
            raise ValueError(
                f"batch bounds must be positive (max_messages={max_messages}, max_seconds={max_seconds})"
            )
        self.max_messages = max_messages
        self.max_seconds = max_seconds
        self._clock = clock
        self._batches: dict[TopicPartition, list[PartitionBatch]] = {}
        self.buffered = 0
        self._groups = 0

    def add(self, topic: str, partition: int, offset: int, table: str | None, row: Any | None) -> None:
        """Record one consumed message and the row it became (None: nothing to load)."""
        queue = self._batches.setdefault((topic, partition), [])
        if not queue or queue[-1].sealed:
            queue.append(PartitionBatch(topic, partition, offset, offset, self._clock()))
        batch = queue[-1]
        if offset <= batch.last_offset and batch.messages:
            raise ValueError(
                f"{topic}[{partition}]: offset {offset} after {batch.last_offset} (not consecutive)"
            )
        batch.last_offset = offset
        batch.messages += 1
        if table is not None and row is not None:
            batch.rows[table].append(row)
        self.buffered += 1
        if batch.messages >= self.max_messages:
            batch.sealed = True

    def seal_due(self, force: bool = False, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Seal open batches that reached their age (all open ones with ``force``), of some partitions.

        Those of them that are their partition's oldest batch become one group.
        """
        now = self._clock()
        keys = list(self._batches) if partitions is None else [k for k in partitions if k in self._batches]
        heads: list[PartitionBatch] = []
        for key in keys:
            queue = self._batches[key]
            if queue and not queue[-1].sealed and (force or now - queue[-1].opened_at >= self.max_seconds):
                queue[-1].sealed = True
                if len(queue) == 1:
                    heads.append(queue[-1])
        if len(heads) > 1:
            self._groups += 1
            for batch in heads:
                batch.group = self._groups

    def sealed(self, partitions: Iterable[TopicPartition] | None = None) -> list[PartitionBatch]:
        """Sealed batches to insert, oldest first within each partition."""
        keys = list(self._batches) if partitions is None else [k for k in partitions if k in self._batches]
        return [b for k in keys for b in self._batches[k] if b.sealed]

    def units(self, partitions: Iterable[TopicPartition] | None = None) -> list[list[PartitionBatch]]:
        """The sealed batches as insert units, in an order that keeps every partition in order:
        a group (all its members, which are their partitions' oldest) where its first member
        comes, every other batch on its own. Limited to ``partitions``, a group keeps only
        its members there (a revoked partition's batches are inserted before they go)."""
        sealed = self.sealed(partitions)
        members: dict[int, list[PartitionBatch]] = defaultdict(list)
        for batch in sealed:
            if batch.group:
                members[batch.group].append(batch)
        units: list[list[PartitionBatch]] = []
        for batch in sealed:
            if not batch.group:
                units.append([batch])
            elif batch is members[batch.group][0]:
                units.append(members[batch.group])
        return units

    def finish(self, batch: PartitionBatch) -> None:
        """Forget a batch whose rows are in and whose offset is committed (must be its partition's oldest)."""
        queue = self._batches.get(batch.key, [])
        if not queue or queue[0] is not batch:
            raise ValueError(f"{batch.topic}[{batch.partition}]: finishing a batch that is not the oldest")
        queue.pop(0)
        self.buffered -= batch.messages
        if not queue:
            del self._batches[batch.key]

    def drop(self, topic: str, partition: int) -> int:
        """Forget a partition (revoked or lost: its next owner re-reads from the committed offset)."""
        queue = self._batches.pop((topic, partition), [])
        dropped = sum(b.messages for b in queue)
        self.buffered -= dropped
        return dropped

    def partitions(self) -> list[TopicPartition]:
        return list(self._batches)


def backoff_delay(attempt: int, initial: float, maximum: float) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): initial, 2x, 4x ... capped at maximum."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    return float(min(maximum, initial * 2 ** min(attempt - 1, 62)))
