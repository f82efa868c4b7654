"""A partition's records reach an agent without a hole, or the worker stops.

After a rebalance Faust (over aiokafka) can hand an agent a partition's records starting
past the committed offset, and it drops the ones in between for good: it counts them as a
gap and will not deliver offsets below the last it delivered. For the join that is lost
data: entries never folded, and once later entries of the same input are folded into a
user's state, the skipped ones read as already applied. A fault run lost 11 events'
updates this way around a worker joining and leaving.

So each partition's next offset is known: where the agent was (kept while it owns the
partition), or, for a partition it has just taken on, the offset the group has committed,
asked from the broker (Faust's own record of it was off both ways in a fault run: behind
after another worker's commits, or not set yet when the first records arrived). A record
below it is a redelivery (the agent's own checks skip what it holds); a record above it
means records were skipped, and the worker stops (``SkippedRecordsError`` is fatal)
before that record is acknowledged, so the restarted worker reads them.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.exceptions import SkippedRecordsError


class GroupOffsets:
    """The offsets a consumer group has committed, asked from the broker."""

    def __init__(self, config: dict[str, Any], group: str, timeout_s: float = 10.0) -> None:
        self._admin = AdminClient(config)
        self._group = group
        self._timeout_s = timeout_s

    def committed(self, topic: str, partition: int) -> int | None:
        """The group's committed offset of the partition; None when it has none."""
        request = ConsumerGroupTopicPartitions(self._group, [TopicPartition(topic, partition)])
        futures = self._admin.list_consumer_group_offsets([request], request_timeout=self._timeout_s)
        result = futures[self._group].result(timeout=self._timeout_s)
        offsets = [tp.offset for tp in result.topic_partitions if tp.offset >= 0]
        return offsets[0] if offsets else None


class Continuity:
    """The next offset due per (topic, partition) an agent reads."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int | None] = {}

    def knows(self, topic: str, partition: int) -> bool:
        return (topic, partition) in self._next

    def start(self, topic: str, partition: int, committed: int | None) -> None:
        """Taken on: the first record due is at the group's committed offset (None: any)."""
        self._next[(topic, partition)] = committed

    def check(self, topic: str, partition: int, offset: int) -> None:
        """Call before handling the record at ``offset``; raises if records were skipped."""
        key = (topic, partition)
        due = self._next.get(key)
        if due is not None and offset > due:
            raise SkippedRecordsError(topic, partition, offset, due)
        self._next[key] = offset + 1 if due is None else max(offset + 1, due)

    def forget(self, partition: int) -> None:
        """The partition went to another worker: its next owner starts from the commit."""
        for key in [k for k in self._next if k[1] == partition]:
            del self._next[key]
