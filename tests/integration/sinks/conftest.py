"""Sink test fixtures: a migrated database, settings on the session broker with a topic
prefix of their own, the sink topics, and helpers to produce records and read rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from confluent_kafka import Producer

from foundation.settings import Settings, load_settings
from foundation.topic_admin import ensure_topics
from schemas.catalog import SchemaCatalog
from schemas.models import AvroModel
from schemas.serde import AvroSerde
from sinks.migrate import apply_migrations
from sinks.runner import SINK_TOPICS

PARTITIONS = 2
SERDE = AvroSerde(SchemaCatalog.load())


@pytest.fixture
def sink_db(warehouse: Any, ch_database: str) -> str:
    """The test's database with every migration applied."""
    apply_migrations(warehouse.client(), ch_database)
    return ch_database


@pytest.fixture
def sink_client(warehouse: Any, sink_db: str) -> Any:
    return warehouse.client(database=sink_db)


def make_settings(kafka: str, host: str, port: int, database: str, prefix: str, **sink: Any) -> Settings:
    return load_settings(
        kafka={"bootstrap_servers": kafka},
        topics={"prefix": prefix, "partitions": PARTITIONS},
        warehouse={"host": host, "port": port, "database": database},
        sink={
            "group_id": "sink",
            "batch_max_rows": 20,
            "batch_max_seconds": 0.5,
            "backoff_initial_s": 0.1,
            "backoff_max_s": 1.0,
            "session_timeout_ms": 6000,
            **sink,
        },
    )


@pytest.fixture
def sink_settings(kafka: str, warehouse: Any, sink_db: str) -> Iterator[Settings]:
    """Settings for a sink on this test's topics (own prefix) and database; topics created."""
    prefix = f"s{uuid.uuid4().hex[:8]}-"
    settings = make_settings(kafka, warehouse.host, warehouse.port, sink_db, prefix)
    ensure_topics(settings.kafka, [settings.topics.name(t) for t in SINK_TOPICS], PARTITIONS)
    yield settings


def produce(
    settings: Settings,
    base_topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None] | tuple[bytes | None, bytes | None, list[Any]]],
    partition: int | None = None,
) -> int:
    """Produce raw (key, value[, headers]) messages to ``base_topic`` (prefixed); wait for all acks."""
    producer = Producer({**settings.kafka.confluent_config(), "enable.idempotence": True, "linger.ms": 5})
    errors: list[str] = []

    def report(error: Any, _msg: Any) -> None:
        if error is not None:
            errors.append(str(error))

    n = 0
    for message in messages:
        key, value = message[0], message[1]
        headers = message[2] if len(message) > 2 else None
        producer.produce(
            settings.topics.name(base_topic),
            key=key,
            value=value,
            headers=headers,
            # -1: the partitioner chooses (librdkafka's RD_KAFKA_PARTITION_UA).
            partition=-1 if partition is None else partition,
            on_delivery=report,
        )
        n += 1
    assert producer.flush(30) == 0 and not errors, errors
    return n


def produce_records(
    settings: Settings, base_topic: str, records: Iterable[AvroModel], partition: int | None = None
) -> int:
    """Encode records with the serde (as the workers do) and produce them, keyed by their first field."""
    topic = settings.topics.name(base_topic)
    return produce(
        settings,
        base_topic,
        [
            (str(r.to_avro()[next(iter(type(r).model_fields))]).encode(), SERDE.encode(r, topic))
            for r in records
        ],
        partition,
    )


def counts(client: Any, table: str) -> tuple[int, int]:
    """(rows stored, rows analysts see): without and with FINAL."""
    return client.command(f"SELECT count() FROM {table}"), client.command(
        f"SELECT count() FROM {table} FINAL"
    )
