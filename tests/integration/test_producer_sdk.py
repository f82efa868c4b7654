"""The producer SDK against the real broker: produce, consume back, decode, compare."""

from __future__ import annotations

import time

import pytest

from foundation.settings import Settings
from foundation.topic_admin import ensure_topics
from producers.exceptions import DeliveryError
from producers.sdk import DeliveryReport, EventProducer
from schemas.topics import COMMUNITY_EVENTS, IDENTITY_LINKS, PRODUCT_EVENTS
from streams.topology import worker_topic_names
from tests.fixtures import events as ev
from tests.fixtures.streams import read_topic

pytestmark = pytest.mark.integration


def _settings(kafka: str, prefix: str, registry: str | None = None) -> Settings:
    settings = Settings(
        kafka={"bootstrap_servers": kafka, "schema_registry_url": registry},
        topics={"prefix": prefix, "partitions": 3},
    )
    ensure_topics(settings.kafka, worker_topic_names(settings), 3)
    return settings


@pytest.mark.parametrize("registry", [None, "mock://sdk-test"], ids=["single-object", "registry"])
def test_events_round_trip_with_keys_topics_and_sent_at(
    kafka: str, unique_prefix: str, registry: str | None
) -> None:
    settings = _settings(kafka, unique_prefix, registry)
    events = [
        ev.make("FeatureUsed", ev.product("u1"), ev.at(0), feature="exports"),
        ev.make(
            "PostCreated", ev.email("A@x.io"), ev.at(1), post_id="p", channel="c", title="t", is_question=True
        ),
        ev.link(ev.product("u1"), ev.email("a@x.io"), ev.at(2)),
    ]
    reports: list[DeliveryReport | None] = []
    before = time.time()
    with EventProducer(settings, source="svc") as producer:
        futures = [producer.send(e, on_delivery=lambda r, _e: reports.append(r)) for e in events]
        delivered = [f.result(timeout=30) for f in futures]
        serde = producer.serde
    assert [d.topic for d in delivered] == [
        settings.topics.name(t) for t in (PRODUCT_EVENTS, COMMUNITY_EVENTS, IDENTITY_LINKS)
    ]
    assert [d.key for d in delivered] == [b"product:u1", b"email:a@x.io", b"product:u1"]
    assert len(reports) == 3 and all(r is not None for r in reports)
    for sent, report in zip(events, delivered, strict=True):
        [record] = read_topic(settings, serde, report.topic, expect=1)
        assert (record.partition, record.offset, record.key) == (report.partition, report.offset, report.key)
        got = record.value
        assert got.sent_at is not None and before - 1 <= got.sent_at.timestamp() <= time.time() + 1
        assert got.model_copy(update={"sent_at": None}) == sent
    # One identity's events share a partition (murmur2, as the stream workers expect).
    assert delivered[0].partition == delivered[2].partition


def test_unreachable_broker_fails_with_a_named_error_after_bounded_retries() -> None:
    settings = Settings(
        kafka={"bootstrap_servers": "127.0.0.1:9"},
        producer={"delivery_timeout_ms": 1500},
        topics={"prefix": "x-"},
    )
    producer = EventProducer(settings, source="svc")
    future = producer.send(ev.make("FeatureUsed", ev.product("u1"), ev.at(0), feature="a"))
    with pytest.raises(DeliveryError, match="delivery to topic x-product-events failed: _MSG_TIMED_OUT"):
        future.result(timeout=30)
    producer.close(timeout=5)  # nothing left: the failure was reported, not dropped


def test_close_raises_when_events_are_still_undelivered() -> None:
    settings = Settings(kafka={"bootstrap_servers": "127.0.0.1:9"}, producer={"delivery_timeout_ms": 30_000})
    producer = EventProducer(settings, source="svc")
    future = producer.send(ev.make("FeatureUsed", ev.product("u1"), ev.at(0), feature="a"))
    with pytest.raises(DeliveryError, match="1 events still undelivered"):
        producer.close(timeout=1)
    # Not left pending until the 30 s delivery timeout: purged, and its future says so.
    assert future.done()
    with pytest.raises(DeliveryError, match="_PURGE_QUEUE"):
        future.result(timeout=0)


def test_a_batch_is_delivered_in_order_with_one_future(kafka: str, unique_prefix: str) -> None:
    settings = _settings(kafka, unique_prefix)
    events = [ev.make("FeatureUsed", ev.product("u1"), ev.at(i), feature=f"f{i}") for i in range(50)]
    with EventProducer(settings, source="svc") as producer:
        reports = producer.send_batch(events).result(timeout=30)
        serde = producer.serde
    assert len(reports) == 50
    assert {r.topic for r in reports} == {settings.topics.name(PRODUCT_EVENTS)}
    # One key, one partition: the offsets are consecutive in the order sent.
    assert [r.offset for r in reports] == list(range(reports[0].offset, reports[0].offset + 50))
    records = read_topic(settings, serde, reports[0].topic, expect=50)
    assert [r.value.payload.feature for r in records] == [f"f{i}" for i in range(50)]
    assert all(r.value.sent_at is not None and r.value.source == "tests" for r in records)
