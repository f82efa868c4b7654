"""The real broker: KRaft metadata, topics, produce/consume round trip, clean starts and stops."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from foundation.exceptions import ServiceStartError
from infra.kafka.broker import KafkaBroker
from tests.fixtures.kafka import TopicFactory, delete_topics, delete_topics_with_prefix, wait_for_leaders

pytestmark = pytest.mark.integration


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a reaper has stopped running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def consume(consumer: Consumer, count: int, timeout: float = 30) -> list[Message]:
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        got.append(msg)
    return got


def test_session_broker_is_a_single_node_kraft_cluster(kafka_admin: AdminClient) -> None:
    cluster = kafka_admin.describe_cluster(request_timeout=10).result()
    assert [node.id for node in cluster.nodes] == [1]
    assert cluster.controller is not None and cluster.controller.id == 1
    assert len(cluster.cluster_id) == 22  # KRaft cluster ids: 16 bytes, URL-safe base64
    resource = ConfigResource(ConfigResource.Type.BROKER, "1")
    config = kafka_admin.describe_configs([resource])[resource].result(10)
    assert config["process.roles"].value == "broker,controller"
    assert config["group.initial.rebalance.delay.ms"].value == "0"


def test_topic_factory_creates_distinct_topics_with_partitions(
    kafka_admin: AdminClient, topic_factory: TopicFactory
) -> None:
    first, second = topic_factory("parts", partitions=3), topic_factory("parts", partitions=3)
    assert first != second and first.startswith("parts-")
    meta = kafka_admin.list_topics(topic=first, timeout=10).topics[first]
    assert sorted(meta.partitions) == [0, 1, 2]
    assert {p.leader for p in meta.partitions.values()} == {1}


def test_unique_prefix_names_the_test_and_its_topics_can_be_cleaned_up(
    kafka_admin: AdminClient, unique_prefix: str
) -> None:
    assert re.fullmatch(r"t-test-unique-prefix-names-[0-9a-f]{8}-", unique_prefix)
    names = [f"{unique_prefix}a", f"{unique_prefix}b"]
    other = f"{unique_prefix[:-1]}x"  # shares the start but not the whole prefix
    for name in [*names, other]:
        kafka_admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(30)
        wait_for_leaders(kafka_admin, name, 1)
    assert delete_topics_with_prefix(kafka_admin, unique_prefix) == names
    left = set(kafka_admin.list_topics(timeout=10).topics)
    assert other in left and not left & set(names)
    delete_topics(kafka_admin, [other])


def test_messages_come_back_with_their_keys_values_partitions_and_offsets(
    kafka: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("roundtrip", partitions=3)
    producer = Producer({"bootstrap.servers": kafka, "enable.idempotence": True})
    sent = {f"k{i}".encode(): (f"v{i}".encode(), i % 3) for i in range(30)}
    for key, (value, partition) in sent.items():
        producer.produce(topic, key=key, value=value, partition=partition)
    assert producer.flush(10) == 0

    group = f"g-{topic}"
    consumer = Consumer(
        {
            "bootstrap.servers": kafka,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        got = consume(consumer, len(sent))
        consumer.commit(asynchronous=False)
        committed = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        consumer.close()

    assert {m.key(): (m.value(), m.partition()) for m in got} == sent
    for partition in range(3):
        offsets = [m.offset() for m in got if m.partition() == partition]
        assert offsets == list(range(10)), partition
    assert [tp.offset for tp in committed] == [10, 10, 10]


def test_a_second_broker_starts_on_its_own_port_and_stops_leaving_no_process(
    kafka: str, kafka_admin: AdminClient, tmp_path: Path
) -> None:
    with KafkaBroker(tmp_path / "second", heap_max="256m") as broker:
        assert broker.bootstrap_servers != kafka
        pid = broker.pid
        assert pid is not None and process_alive(pid)
        other = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        second_id = other.describe_cluster(request_timeout=10).result().cluster_id
    session_id = kafka_admin.describe_cluster(request_timeout=10).result().cluster_id
    assert second_id != session_id
    assert not process_alive(pid)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing left in the broker's process group either


def test_a_broker_that_cannot_bind_its_port_fails_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = KafkaBroker(tmp_path / "clash", port=port, heap_max="256m")
        with pytest.raises(ServiceStartError, match=f"127.0.0.1:{port}: Address already in use"):
            broker.start()
    assert broker.pid is not None and not process_alive(broker.pid)


def test_the_broker_command_starts_a_detached_broker_reports_it_and_stops_it(tmp_path: Path) -> None:
    workdir = str(tmp_path / "cli")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "orbitstream", "broker", *args, "--workdir", workdir],
            capture_output=True,
            text=True,
            timeout=120,
        )

    started = run("start")
    assert started.returncode == 0, started.stderr
    bootstrap = started.stdout.strip()
    pid = int((tmp_path / "cli" / "broker.pid").read_text())
    try:
        status = run("status")
        assert status.returncode == 0
        assert f"pid {pid}, bootstrap {bootstrap}, 1 broker(s)" in status.stdout
        meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
        assert list(meta.brokers) == [1]
    finally:
        stopped = run("stop")
    assert stopped.stdout.strip() == "stopped"
    assert not process_alive(pid)
    assert run("status").returncode == 3
