"""The worker's consumer seeks back to a committed offset of 0 (aiokafka's own seek does not),
and back to the offset due when its fetch position got past records never handed over.

After a rebalance Faust drops what was prefetched and seeks every partition to its
committed offset. A commit cap often leaves 0 committed (a record at offset 0 still
waiting); aiokafka's ``seek_to_committed`` seeks only to offsets above 0, so such a
partition went on from where its prefetch had got and its records were never read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from confluent_kafka import Producer

from streams.continuity import Continuity, without_holes
from streams.transport import seek_to_committed
from tests.fixtures.kafka import TopicFactory

pytestmark = pytest.mark.integration


async def assigned_consumer(kafka: str, tp: TopicPartition, committed: int) -> AIOKafkaConsumer:
    """A started consumer of a new group, assigned ``tp``, with ``committed`` committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka,
        group_id=f"seek-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    consumer.assign([tp])
    await consumer.commit({tp: OffsetAndMetadata(committed, "")})
    return consumer


async def positions_after_seeks(kafka: str, topic: str) -> tuple[int, int, list[int]]:
    tp = TopicPartition(topic, 0)
    consumer = await assigned_consumer(kafka, tp, 0)
    try:
        read: list[int] = []
        while len(read) < 4:  # prefetched and handed over: the position is past them
            batch = await consumer.getmany(tp, timeout_ms=1000)
            read += [r.offset for r in batch.get(tp, [])]
        await consumer.seek_to_committed()
        by_aiokafka = await consumer.position(tp)
        await seek_to_committed(consumer)
        ours = await consumer.position(tp)
        again: list[int] = []
        while len(again) < 4:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            again += [r.offset for r in batch.get(tp, [])]
        return by_aiokafka, ours, again
    finally:
        await consumer.stop()


def test_a_partition_committed_at_0_is_read_again_from_0(kafka: str, topic_factory: TopicFactory) -> None:
    topic = topic_factory("seek")
    producer = Producer({"bootstrap.servers": kafka})
    for i in range(4):
        producer.produce(topic, f"r{i}".encode(), partition=0)
    assert producer.flush(30) == 0
    by_aiokafka, ours, again = asyncio.run(positions_after_seeks(kafka, topic))
    assert by_aiokafka == 4  # aiokafka left it where the prefetch got: records 0..3 skipped
    assert ours == 0
    assert again == [0, 1, 2, 3]


async def read_from_a_stale_position(kafka: str, topic: str) -> tuple[list[int], int]:
    """Commit 2, move the fetch position to 6 behind the reader's back, then read."""
    tp = TopicPartition(topic, 0)
    consumer = await assigned_consumer(kafka, tp, 2)
    try:
        consumer.seek(tp, 6)
        continuity = Continuity()

        async def committed(at: TopicPartition) -> int | None:
            offset: int | None = await consumer.committed(at)
            return offset

        async def seek(at: TopicPartition, offset: int) -> None:
            consumer.seek(at, offset)

        async def fetch() -> AsyncIterator[tuple[TopicPartition, ConsumerRecord[bytes, bytes]]]:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                yield tp, record

        read: list[int] = []
        while len(read) < 8:
            async for _, record in without_holes(fetch(), continuity, lambda _: True, committed, seek):
                read.append(record.offset)
        return read, continuity.seeks
    finally:
        await consumer.stop()


def test_a_fetch_past_the_committed_offset_is_sought_back_and_nothing_is_skipped(
    kafka: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("hole")
    producer = Producer({"bootstrap.servers": kafka})
    for i in range(10):
        producer.produce(topic, f"r{i}".encode(), partition=0)
    assert producer.flush(30) == 0
    read, seeks = asyncio.run(read_from_a_stale_position(kafka, topic))
    # Read as it was fetched, the records would start at 6: 2..5 were skipped.
    assert read == [2, 3, 4, 5, 6, 7, 8, 9]
    assert seeks == 1
