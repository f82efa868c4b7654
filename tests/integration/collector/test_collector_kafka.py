"""The collector on the real broker: accepted means on the topic; no broker means 503."""

from __future__ import annotations

import json
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from foundation.settings import Settings
from foundation.topic_admin import ensure_topics
from infra.kafka.broker import free_port
from producers.collector.app import create_app
from producers.collector.auth import hash_key
from schemas.catalog import SchemaCatalog
from schemas.models import FeatureUsed, PostCreated
from schemas.serde import AvroSerde
from schemas.topics import base_topic_for
from streams.topology import worker_topic_names
from tests.fixtures.streams import read_topic

pytestmark = pytest.mark.integration
KEY = "k-" + uuid.uuid4().hex


def event(event_id: str, kind: str = "FeatureUsed") -> dict[str, object]:
    payload = (
        {"feature": "exports", "is_key_feature": True}
        if kind == "FeatureUsed"
        else {"post_id": "p1", "channel": "help", "title": "Hi"}
    )
    return {
        "type": kind,
        "event_id": event_id,
        "occurred_at": "2026-03-02T09:00:00.250Z",
        "identity": {"provider": "product", "external_id": "u-9"},
        "payload": payload,
    }


def test_accepted_events_are_on_their_topics_and_rejected_ones_are_not(
    kafka: str, unique_prefix: str
) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": kafka},
        topics={"prefix": unique_prefix, "partitions": 2},
        collector={"api_keys": {"web": hash_key(KEY)}},
    )
    ensure_topics(settings.kafka, worker_topic_names(settings), 2)
    bad = event("e-bad")
    bad["occurred_at"] = "yesterday"
    body = {"events": [event("e-1"), bad, event("e-2", "PostCreated")]}
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").json() == {"status": "ready", "kafka": "reachable"}
        r = client.post("/v1/events", content=json.dumps(body), headers={"X-API-Key": KEY})
        scraped = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert r.status_code == 200, r.text

    def totals(family: str) -> dict[tuple[str, ...], float]:
        return {
            tuple(sorted(sample.labels.items())): sample.value
            for sample in scraped[family].samples
            if sample.name.endswith("_total")
        }

    # The scrape moved by exactly this request: two accepted (after Kafka's ack), one refused.
    assert totals("orbitstream_collector_events_accepted") == {(("route", "/v1/events"),): 2.0}
    rejected = totals("orbitstream_collector_events_rejected")
    assert sum(rejected.values()) == 1.0 and all(("route", "/v1/events") in k for k in rejected)
    requests = totals("orbitstream_collector_requests")
    assert requests[(("route", "/v1/events"), ("status", "200"))] == 1.0
    assert [x["status"] for x in r.json()["results"]] == ["accepted", "rejected", "accepted"]
    assert r.json()["results"][1]["errors"][0]["field"] == "occurred_at"
    serde = AvroSerde(SchemaCatalog.load())
    product = read_topic(
        settings, serde, settings.topics.name(base_topic_for(FeatureUsed)), expect=1, settle=1
    )
    community = read_topic(
        settings, serde, settings.topics.name(base_topic_for(PostCreated)), expect=1, settle=1
    )
    assert [(type(r.value).__name__, r.value.event_id, r.value.source) for r in product] == [
        ("FeatureUsed", "e-1", "web")
    ]
    assert [(r.value.event_id, r.key) for r in community] == [("e-2", b"product:u-9")]
    assert product[0].value.sent_at is not None


def test_an_unreachable_broker_is_503_with_retry_after_and_not_ready(unique_prefix: str) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": f"127.0.0.1:{free_port()}"},  # nothing listens there
        topics={"prefix": unique_prefix},
        collector={"api_keys": {"web": hash_key(KEY)}, "delivery_timeout_s": 1, "retry_after_s": 7},
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 503
        r = client.post(
            "/v1/events", content=json.dumps({"events": [event("e-1")]}), headers={"X-API-Key": KEY}
        )
        metrics = client.get("/metrics").text
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "7"
    assert r.json()["error"].startswith("Kafka unavailable")
    assert 'orbitstream_collector_requests_total{route="/v1/events",status="503"} 1.0' in metrics
    assert "orbitstream_collector_events_accepted_total{" not in metrics  # never incremented
