"""A GitHub delivery through the collector, the stream worker and the sink into ClickHouse."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from producers.collector.app import create_app
from schemas.identity import deterministic_canonical_id
from sinks.migrate import apply_migrations
from sinks.runner import Sink
from tests.fixtures import events as ev
from tests.fixtures.octokit import example
from tests.fixtures.streams import send_events

pytestmark = pytest.mark.integration
SECRET = "e2e-webhook-secret"


def signed(event: str, delivery: str, payload: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature}
    return {"content": body, "headers": headers}


def test_a_signed_github_issue_lands_as_rows_under_the_linked_product_user_once(
    pipeline_factory, warehouse, ch_database, octokit_examples
) -> None:
    pipeline = pipeline_factory(
        partitions=2,
        warehouse={"port": warehouse.port, "database": ch_database},
        collector={"github_secret": SECRET},
    )
    pipeline.start_workers(1)
    payload = copy.deepcopy(example(octokit_examples, "issues", "opened"))
    login = payload["issue"]["user"]["login"]
    payload["issue"]["body"] = "Spotted while pairing with @hubot"
    # The person's product account was linked to their GitHub login (a connected account)
    # a day before the issue was opened: events are resolved as of their own time.
    opened = datetime.fromisoformat(payload["issue"]["created_at"].replace("Z", "+00:00"))
    linked = ev.link(ev.product("octo-7"), ev.github(login), opened - timedelta(days=1))
    send_events(pipeline.settings, [linked])
    # No wait for the link: one written before the events applies to them, however the
    # worker's reads interleave (docs/identity.md).

    with TestClient(create_app(pipeline.settings)) as client:
        forged = client.post("/webhooks/github", **signed("issues", "d-forged", payload, secret="guess"))
        first = client.post("/webhooks/github", **signed("issues", "delivery-1", payload))
        again = client.post("/webhooks/github", **signed("issues", "delivery-1", payload))  # redelivered
    assert forged.status_code == 401
    assert first.status_code == again.status_code == 200
    ids = [e["event_id"] for e in first.json()["events"]]
    assert [e["type"] for e in first.json()["events"]] == ["PostCreated", "Mention"]
    assert [e["event_id"] for e in again.json()["events"]] == ids

    client_ch = warehouse.client(database=ch_database)
    apply_migrations(client_ch, ch_database)
    sink = Sink(pipeline.settings)
    deadline = time.monotonic() + 90

    def loaded(s: Sink) -> bool:
        # Two events, each delivered twice to Kafka; scored once each.
        done = s.rows_written["events"] >= 4 and s.rows_written["engagement_scores"] >= 2
        return done or time.monotonic() > deadline

    sink.run(until=loaded)
    person = deterministic_canonical_id("product", "octo-7")
    repo, number = payload["repository"]["full_name"], payload["issue"]["number"]
    # FINAL: the redelivered copies share event id and time, so each event is one row.
    rows = client_ch.query(
        "SELECT event_id, event_type, source, canonical_id, provider, external_id, post_id, channel, "
        "counterpart_provider, counterpart_external_id FROM events FINAL ORDER BY event_type DESC"
    ).result_rows
    assert rows == [
        (
            ids[0],
            "PostCreated",
            "github",
            person,
            "github",
            login,
            f"{repo}#{number}",
            f"{repo}/issues",
            "",
            "",
        ),
        (
            ids[1],
            "Mention",
            "github",
            person,
            "github",
            login,
            f"{repo}#{number}",
            "",
            "github",
            "hubot",
        ),
    ]
    # The redelivered copies count once: one score update per event, the second counting two.
    scores = client_ch.query(
        "SELECT source_event_id, event_count FROM engagement_scores FINAL "
        "WHERE canonical_id = {person:String} ORDER BY event_count",
        parameters={"person": person},
    ).result_rows
    assert scores == [(ids[0], 1), (ids[1], 2)]


def discourse(event: str, delivery: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-Discourse-Event": event,
        "X-Discourse-Event-Id": delivery,
        "X-Discourse-Instance": "https://forum.example.com",
        "X-Discourse-Event-Signature": signature,
    }
    return {"content": body, "headers": headers}


def test_a_discourse_user_with_an_email_joins_the_product_account_linked_to_it(
    pipeline_factory, warehouse, ch_database
) -> None:
    from tests.unit.collector import discourse_payloads as dp

    pipeline = pipeline_factory(
        partitions=2,
        warehouse={"port": warehouse.port, "database": ch_database},
        collector={"discourse_secret": SECRET},
    )
    pipeline.start_workers(1)
    email = dp.USER_CREATED["user"]["email"]
    # Linked at signup, before the forum account existed: links apply in event-time order.
    send_events(pipeline.settings, [ev.link(ev.product("grace-3"), ev.email(email), ev.at(days=-2))])
    # No wait for the link: one written before the events applies to them, however the
    # worker's reads interleave (docs/identity.md).
    topic = copy.deepcopy(dp.TOPIC_CREATED)
    topic["topic"]["created_by"]["username"] = dp.USER_CREATED["user"]["username"]
    with TestClient(create_app(pipeline.settings)) as client:
        joined = client.post("/webhooks/discourse", **discourse("user_created", "501", dp.USER_CREATED))
        assert [e["type"] for e in joined.json()["events"]] == ["MemberJoined", "IdentityLink"]
        # No wait for the link: written (acknowledged) before the post, it applies to it.
        posted = client.post("/webhooks/discourse", **discourse("topic_created", "502", topic))
    [post] = posted.json()["events"]

    client_ch = warehouse.client(database=ch_database)
    apply_migrations(client_ch, ch_database)
    sink = Sink(pipeline.settings)
    deadline = time.monotonic() + 90

    def loaded(s: Sink) -> bool:
        return s.rows_written["engagement_scores"] >= 2 or time.monotonic() > deadline

    sink.run(until=loaded)
    rows = client_ch.query(
        "SELECT event_type, canonical_id, provider, external_id, post_id, is_question FROM events FINAL "
        f"WHERE event_id = '{post['event_id']}'"
    ).result_rows
    person = deterministic_canonical_id("product", "grace-3")
    assert rows == [("PostCreated", person, "discourse", "Grace", "forum.example.com/t/42", True)]
