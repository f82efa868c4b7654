"""The worker's consumer seeks back to a committed offset of 0 (aiokafka's own seek does not).

After a rebalance Faust drops what was prefetched and seeks every partition to its
committed offset. A commit cap often leaves 0 committed (a record at offset 0 still
waiting); aiokafka's ``seek_to_committed`` seeks only to offsets above 0, so such a
partition went on from where its prefetch had got and its records were never read.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from confluent_kafka import Producer

from streams.transport import seek_to_committed
from tests.fixtures.kafka import TopicFactory

pytestmark = pytest.mark.integration


async def positions_after_seeks(kafka: str, topic: str) -> tuple[int, int, list[int]]:
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka,
        group_id=f"seek-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: OffsetAndMetadata(0, "")})
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
