"""SCRAM over TLS (SASL_SSL) with a CA made for the test run: producer, worker and sink through it,
and a client that does not trust the CA stopped at once with a message naming TLS."""

from __future__ import annotations

import time
import uuid

import pytest

from foundation.kafka_access import KafkaAccessError, check_access
from foundation.topic_admin import ensure_topics
from infra.stack import start_worker, wait_for_group
from sinks.migrate import apply_migrations
from sinks.runner import Sink
from streams.topology import worker_topic_names
from tests.fixtures import events as ev
from tests.fixtures.security import SASL_USER, secured_settings
from tests.fixtures.streams import send_events

pytestmark = pytest.mark.integration


def test_events_go_through_scram_over_tls_to_the_warehouse(
    tls_scram_kafka, secured_warehouse, tmp_path
) -> None:
    bootstrap, ca = tls_scram_kafka
    database = f"tls_{uuid.uuid4().hex[:10]}"
    settings = secured_settings(
        bootstrap,
        secured_warehouse.port,
        database,
        kafka={"security_protocol": "SASL_SSL", "ssl_ca_location": str(ca)},
    )
    secured_warehouse.client().command(f"CREATE DATABASE {database}")
    client = secured_warehouse.client(database=database)
    apply_migrations(client, database)
    ensure_topics(settings.kafka, worker_topic_names(settings), settings.topics.partitions)
    worker = start_worker(settings, tmp_path, "worker-1")
    try:
        wait_for_group(settings, settings.topics.name(settings.worker.app_id), 1, [worker])
        used = ev.make(
            "FeatureUsed", ev.product("tls-1"), ev.at(0), feature="dashboards", is_key_feature=True
        )
        send_events(settings, [used])
        deadline = time.monotonic() + 90
        sink = Sink(settings)
        sink.run(until=lambda s: s.rows_written["engagement_scores"] >= 1 or time.monotonic() > deadline)
    finally:
        worker.stop()
    assert client.query("SELECT event_id, external_id FROM events FINAL").result_rows == [
        (used.event_id, "tls-1")
    ]
    assert client.command("SELECT count() FROM engagement_scores FINAL") == 1
    secured_warehouse.client().command(f"DROP DATABASE IF EXISTS {database}")


def test_a_client_that_does_not_trust_the_brokers_ca_is_stopped_naming_tls(
    tls_scram_kafka, secured_warehouse
) -> None:
    bootstrap, _ca = tls_scram_kafka
    # No CA file: the system's CAs, which never signed the test CA's certificate.
    settings = secured_settings(
        bootstrap, secured_warehouse.port, "default", kafka={"security_protocol": "SASL_SSL"}
    )
    with pytest.raises(KafkaAccessError) as raised:
        check_access(settings.kafka, timeout=60)
    text = str(raised.value)
    assert (
        "TLS with Kafka at" in text and "certificate verify failed" in text and f"user '{SASL_USER}'" in text
    )
