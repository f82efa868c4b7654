"""The collector's HTTP answers: keys, signatures, body limits, malformed JSON, per-event
results, 503 and metrics, with a recording stand-in for Kafka delivery."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.requests import Request
from starlette.testclient import TestClient

from foundation.settings import Settings
from producers.collector.app import create_app
from producers.collector.auth import hash_key, signature_valid
from producers.collector.body import BodyError, read_bounded
from producers.collector.delivery import KafkaUnavailable, Unsendable
from producers.exceptions import EventValidationError
from producers.sdk import Prepared, message_key
from schemas.models import Event
from tests.fixtures.octokit import example

KEY = "k-forum-0123456789"
GH_SECRET = "gh-webhook-secret"
DC_SECRET = "discourse-webhook-secret"


class RecordingSink:
    """Keys events like the SDK (illegal identities refused) and records what is sent."""

    def __init__(self) -> None:
        self.sent: list[Prepared] = []
        self.down = False

    def prepare(self, events: Sequence[tuple[int, Event]]) -> tuple[list[Prepared], list[Unsendable]]:
        ready, refused = [], []
        for n, event in events:
            try:
                ready.append(Prepared("t", message_key(event), event.event_id.encode()))
            except EventValidationError as exc:
                refused.append(Unsendable(n, "identity.external_id", str(exc)))
        return ready, refused

    async def send(self, prepared: Sequence[Prepared]) -> None:
        if self.down:
            raise KafkaUnavailable("delivery to topic t failed: _MSG_TIMED_OUT")
        self.sent.extend(prepared)

    async def ready(self) -> bool:
        return not self.down

    def close(self) -> None:
        pass


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def client(sink: RecordingSink) -> Iterator[TestClient]:
    settings = Settings(
        collector={
            "api_keys": {"forum": hash_key(KEY)},
            "github_secret": GH_SECRET,
            "discourse_secret": DC_SECRET,
            "max_body_bytes": 4096,
            "max_batch_events": 3,
        }
    )
    with TestClient(create_app(settings, sink=sink, registry=CollectorRegistry())) as c:
        yield c


def feature_used(event_id: str = "e-1", user: str = "u-1") -> dict[str, Any]:
    return {
        "type": "FeatureUsed",
        "event_id": event_id,
        "occurred_at": "2026-03-02T09:00:00Z",
        "identity": {"provider": "product", "external_id": user},
        "payload": {"feature": "dashboards"},
    }


def post(client: TestClient, body: Any, key: str | None = KEY, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/v1/events", content=json.dumps(body), headers=headers, **kw)


def metric(client: TestClient, name: str, **labels: str) -> float:
    registry = client.app.state.metrics.registry  # type: ignore[attr-defined]
    return registry.get_sample_value(name, labels) or 0.0


def test_a_valid_batch_is_accepted_after_delivery_with_the_keys_source(
    client: TestClient, sink: RecordingSink
) -> None:
    r = post(client, {"events": [feature_used("e-1"), feature_used("e-2", "u-2")]})
    assert r.status_code == 200
    assert r.json() == {
        "accepted": 2,
        "rejected": 0,
        "results": [
            {"index": 0, "status": "accepted", "event_id": "e-1"},
            {"index": 1, "status": "accepted", "event_id": "e-2"},
        ],
    }
    assert [p.value for p in sink.sent] == [b"e-1", b"e-2"]
    assert [p.key for p in sink.sent] == [b"product:u-1", b"product:u-2"]
    assert metric(client, "orbitstream_collector_events_accepted_total", route="/v1/events") == 2


def test_each_bad_event_is_rejected_with_its_field_and_reason_and_the_rest_sent(
    client: TestClient, sink: RecordingSink
) -> None:
    missing = feature_used("e-2")
    del missing["payload"]["feature"]
    illegal = feature_used("e-3", "null")
    r = post(client, {"events": [feature_used("e-1"), missing, illegal]})
    body = r.json()
    assert (r.status_code, body["accepted"], body["rejected"]) == (200, 1, 2)
    assert body["results"][1] == {
        "index": 1,
        "status": "rejected",
        "errors": [{"field": "payload.feature", "reason": "Field required"}],
    }
    assert body["results"][2]["errors"][0]["field"] == "identity.external_id"
    assert "not a person's identity" in body["results"][2]["errors"][0]["reason"]
    assert [p.value for p in sink.sent] == [b"e-1"]
    assert (
        metric(client, "orbitstream_collector_events_rejected_total", route="/v1/events", reason="missing")
        == 1
    )
    labels = {"route": "/v1/events", "reason": "illegal_identity"}
    assert metric(client, "orbitstream_collector_events_rejected_total", **labels) == 1


def test_an_unknown_type_names_the_known_ones(client: TestClient) -> None:
    r = post(client, {"events": [{**feature_used(), "type": "Nope"}]})
    [error] = r.json()["results"][0]["errors"]
    assert error["field"] == "type"
    assert "unknown event type 'Nope'" in error["reason"] and "FeatureUsed" in error["reason"]


def test_a_missing_or_wrong_key_is_401_and_the_log_never_holds_the_key(
    client: TestClient, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "k-wrong-secret-value-42"
    assert post(client, {"events": [feature_used()]}, key=None).status_code == 401
    r = post(client, {"events": [feature_used()]}, key=wrong)
    assert (r.status_code, r.json()) == (401, {"error": "unknown API key"})
    assert client.post("/v1/events", content="{}", headers={"X-API-Key": wrong}).status_code == 401
    assert sink.sent == []
    assert "401 on /v1/events" in caplog.text
    assert wrong not in caplog.text and KEY not in caplog.text
    assert metric(client, "orbitstream_collector_requests_total", route="/v1/events", status="401") == 3


def test_the_x_api_key_header_works_like_bearer(client: TestClient) -> None:
    r = client.post(
        "/v1/events", content=json.dumps({"events": [feature_used()]}), headers={"X-API-Key": KEY}
    )
    assert r.json()["accepted"] == 1


def test_a_declared_oversized_body_is_413_before_any_of_it_is_read() -> None:
    received: list[int] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/events",
        "headers": [(b"content-length", b"5000")],
    }
    with pytest.raises(BodyError) as err:
        asyncio.run(read_bounded(Request(scope, receive), 4096))
    assert (err.value.status, err.value.message) == (
        413,
        "body of 5000 bytes exceeds the limit of 4096 bytes",
    )
    assert received == []


def test_the_413_reaches_the_client(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    r = client.post("/v1/events", content=b"x" * 5000, headers=headers)
    assert (r.status_code, r.json()) == (413, {"error": "body of 5000 bytes exceeds the limit of 4096 bytes"})


def test_a_streamed_body_without_length_is_cut_at_the_limit(client: TestClient, sink: RecordingSink) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"events": ['
        for _ in range(100):
            yield json.dumps(feature_used()).encode() + b","

    r = client.post("/v1/events", content=chunks(), headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 413
    assert r.json() == {"error": "body exceeds the limit of 4096 bytes"}
    assert sink.sent == []


def test_malformed_json_is_400_naming_the_position(client: TestClient) -> None:
    r = client.post(
        "/v1/events", content=b'{"events": [\n  {"type": "FeatureUsed",}\n]}', headers={"X-API-Key": KEY}
    )
    assert r.status_code == 400
    assert r.json()["error"] == (
        "malformed JSON at line 2 column 26 (char 38): Expecting property name enclosed in double quotes"
    )


def test_a_batch_over_the_configured_count_is_413_and_a_non_batch_400(client: TestClient) -> None:
    r = post(client, {"events": [feature_used(f"e-{n}") for n in range(4)]})
    assert (r.status_code, r.json()) == (413, {"error": "batch holds 4 events, at most 3 are taken"})
    assert post(client, [feature_used()]).status_code == 400


def test_kafka_down_is_503_with_retry_after_and_nothing_accepted(
    client: TestClient, sink: RecordingSink
) -> None:
    sink.down = True
    r = post(client, {"events": [feature_used()]})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert "accepted" not in r.json()
    assert client.get("/ready").status_code == 503
    assert client.get("/health").status_code == 200
    assert metric(client, "orbitstream_collector_events_accepted_total", route="/v1/events") == 0


def gh_post(
    client: TestClient, event: str, payload: dict[str, Any], delivery: str, secret: str = GH_SECRET
) -> Any:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature}
    return client.post("/webhooks/github", content=body, headers=headers)


def test_a_signed_github_delivery_is_mapped_and_sent(
    client: TestClient, sink: RecordingSink, octokit_examples: dict[str, Any]
) -> None:
    payload = example(octokit_examples, "issues", "opened")
    r = gh_post(client, "issues", payload, "d-1")
    assert r.status_code == 200
    assert [e["type"] for e in r.json()["events"]] == ["PostCreated"]
    assert [p.key for p in sink.sent] == [f"github:{payload['issue']['user']['login'].lower()}".encode()]
    again = gh_post(client, "issues", payload, "d-1")
    assert again.json()["events"] == r.json()["events"]  # a redelivery: the same event id


def test_a_bad_or_missing_github_signature_is_401_and_nothing_is_sent(
    client: TestClient, sink: RecordingSink, octokit_examples: dict[str, Any]
) -> None:
    payload = example(octokit_examples, "issues", "opened")
    assert gh_post(client, "issues", payload, "d-2", secret="not-the-secret").status_code == 401
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-3"}
    r = client.post("/webhooks/github", content=body, headers=headers)
    assert (r.status_code, r.json()) == (401, {"error": "missing signature (x-hub-signature-256)"})
    assert sink.sent == []


def test_an_unmapped_github_event_is_200_and_counted(
    client: TestClient, sink: RecordingSink, octokit_examples: dict[str, Any]
) -> None:
    r = gh_post(client, "push", {"ref": "refs/heads/main", "repository": {"full_name": "o/r"}}, "d-4")
    assert (r.status_code, r.json()) == (200, {"ignored": "push", "delivery": "d-4"})
    gh_post(client, "star", example(octokit_examples, "star", "deleted"), "d-5")
    assert metric(client, "orbitstream_collector_webhooks_ignored_total", source="github", event="push") == 1
    assert metric(client, "orbitstream_collector_webhooks_ignored_total", source="github", event="star") == 1
    assert sink.sent == []


def test_a_signed_discourse_delivery_is_mapped_and_a_bad_one_refused(
    client: TestClient, sink: RecordingSink
) -> None:
    from tests.unit.collector.discourse_payloads import REPLY_CREATED

    body = json.dumps(REPLY_CREATED).encode()
    good = "sha256=" + hmac.new(DC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-Discourse-Event": "post_created",
        "X-Discourse-Event-Id": "77",
        "X-Discourse-Instance": "https://forum.example.com",
        "X-Discourse-Event-Signature": good,
    }
    r = client.post("/webhooks/discourse", content=body, headers=headers)
    assert [e["type"] for e in r.json()["events"]] == ["ReplyCreated", "Mention"]
    assert sink.sent[0].key == b"discourse:grace"
    bad = {**headers, "X-Discourse-Event-Signature": good[:-2] + "00"}
    assert client.post("/webhooks/discourse", content=body, headers=bad).status_code == 401
    assert len(sink.sent) == 2


def test_an_unconfigured_webhook_is_404() -> None:
    app = create_app(Settings(), sink=RecordingSink(), registry=CollectorRegistry())
    with TestClient(app) as c:
        assert c.post("/webhooks/github", content=b"{}").status_code == 404


def test_metrics_page_counts_requests_per_route_and_status(client: TestClient) -> None:
    post(client, {"events": [feature_used()]})
    post(client, {"events": []}, key="nope")
    text = client.get("/metrics").text
    assert 'orbitstream_collector_requests_total{route="/v1/events",status="200"} 1.0' in text
    assert 'orbitstream_collector_requests_total{route="/v1/events",status="401"} 1.0' in text
    assert 'orbitstream_collector_events_accepted_total{route="/v1/events"} 1.0' in text


def test_two_apps_keep_their_own_counts(sink: RecordingSink) -> None:
    settings = Settings(collector={"api_keys": {"a": hash_key(KEY)}})
    apps = [create_app(settings, sink=sink) for _ in range(2)]
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        post(a, {"events": [feature_used()]})
        assert metric(a, "orbitstream_collector_events_accepted_total", route="/v1/events") == 1
        assert metric(b, "orbitstream_collector_events_accepted_total", route="/v1/events") == 0


def test_signatures_match_githubs_published_test_vector() -> None:
    # docs.github.com, "Validating webhook deliveries": secret, payload and expected header.
    secret, body = SecretStr("It's a Secret to Everybody"), b"Hello, World!"
    good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_valid(secret, body, good)
    assert not signature_valid(secret, body + b" ", good)
    assert not signature_valid(secret, body, good.removeprefix("sha256="))
    assert not signature_valid(secret, body, None)


def test_a_form_encoded_github_delivery_is_read_from_its_payload_field(
    client: TestClient, sink: RecordingSink, octokit_examples: dict[str, Any]
) -> None:
    from urllib.parse import urlencode

    payload = example(octokit_examples, "star", "created")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    signature = "sha256=" + hmac.new(GH_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "star",
        "X-GitHub-Delivery": "d-form",
        "X-Hub-Signature-256": signature,
    }
    r = client.post("/webhooks/github", content=body, headers=headers)
    assert [e["type"] for e in r.json()["events"]] == ["ReactionAdded"]
    assert sink.sent[0].key == f"github:{payload['sender']['login'].lower()}".encode()
