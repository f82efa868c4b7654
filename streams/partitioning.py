"""Which partition a key lands on: Kafka's default partitioner, as Java and aiokafka compute it."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives ``key``."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
