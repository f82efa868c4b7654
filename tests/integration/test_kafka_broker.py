"""The real broker: KRaft metadata, produce/consume round trip, clean stop."""

from __future__ import annotations

import os
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from infra.kafka.broker import KafkaBroker

pytestmark = pytest.mark.integration


def test_broker_is_a_real_single_node_kraft_cluster(kafka: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka})
    cluster = admin.describe_cluster(request_timeout=10).result()
    assert len(cluster.nodes) == 1
    assert cluster.controller is not None and cluster.controller.id == 1
    assert len(cluster.cluster_id) == 22  # KRaft cluster ids are 16 bytes, base64


def test_produce_and_consume_back_with_keys_partitions_and_values(kafka: str, topic_factory) -> None:
    topic = topic_factory("roundtrip", partitions=3)
    producer = Producer({"bootstrap.servers": kafka, "enable.idempotence": True})
    sent = {}
    for i in range(30):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 3)
        sent[f"k{i}".encode()] = (f"v{i}".encode(), i % 3)
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    got = {}
    deadline = time.monotonic() + 20
    while len(got) < 30 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got[msg.key()] = (msg.value(), msg.partition())
    consumer.close()
    assert got == sent


def test_a_second_broker_starts_and_stops_leaving_no_process(tmp_path) -> None:
    broker = KafkaBroker(tmp_path / "second", heap="256m")
    bootstrap = broker.start()
    pid = broker.pid
    assert pid is not None
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    assert list(metadata.brokers) == [1]
    broker.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
