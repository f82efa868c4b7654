"""Defined outcomes for odd input, on the real broker: an unknown event type and an
unknown identity provider are dead letters saying so; a very old event is late: it
counts in the score but fires nothing; an event dated days ahead is a dead letter and
never moves event time."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from fastavro import parse_schema, schemaless_writer

from schemas.catalog import crc64_fingerprint
from schemas.identity import deterministic_canonical_id
from schemas.topics import CHURN_TRIGGERS, COMMUNITY_EVENTS, DEAD_LETTERS, ENGAGEMENT_SCORES, PRODUCT_EVENTS
from tests.fixtures import events as ev
from tests.fixtures.streams import send_events

pytestmark = pytest.mark.integration

# A product event type this contract does not have, written the way our producers write.
TELEPORTED = {
    "type": "record",
    "name": "Teleported",
    "namespace": "orbitstream.product",
    "fields": [{"name": "event_id", "type": "string"}, {"name": "where", "type": "string"}],
}


def single_object(schema: dict, record: dict) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(json.loads(json.dumps(schema))), record)
    return b"\xc3\x01" + crc64_fingerprint(schema) + buf.getvalue()


def test_unknown_event_type_and_unknown_identity_provider_are_dead_letters_with_their_reason(
    pipeline_factory,
) -> None:
    pipeline = pipeline_factory(partitions=1)
    pipeline.start_workers(1)
    unknown_type = single_object(TELEPORTED, {"event_id": "t1", "where": "mars"})
    # A community event from a provider the contract does not list (a newer producer's enum).
    member = pipeline.serde.catalog.raw("orbitstream.community.MemberJoined")
    newer = json.loads(json.dumps(member))
    identity = next(f for f in newer["fields"] if f["name"] == "identity")
    identity["type"]["fields"][0]["type"]["symbols"].append("myspace")
    joined = ev.make("MemberJoined", ev.product("tom"), ev.at(0), community="forum").to_avro()
    joined["identity"]["provider"] = "myspace"
    unknown_provider = single_object(newer, joined)
    producer = Producer(pipeline.settings.kafka.confluent_config())
    producer.produce(pipeline.topic(PRODUCT_EVENTS), key=b"product:t", value=unknown_type)
    producer.produce(pipeline.topic(COMMUNITY_EVENTS), key=b"myspace:tom", value=unknown_provider)
    assert producer.flush(10) == 0
    good = ev.make("FeatureUsed", ev.product("carol"), ev.at(1), feature="export")
    send_events(pipeline.settings, [good])

    dead = {
        d.headers["source_topic"].decode(): d for d in pipeline.read_raw(DEAD_LETTERS, expect=2, settle=1.0)
    }
    assert len(dead) == 2
    teleported = dead[pipeline.topic(PRODUCT_EVENTS)]
    assert teleported.headers["error_class"] == b"DeserializationError"
    assert teleported.headers["error"].decode() == (
        f"{pipeline.topic(PRODUCT_EVENTS)}[0]@0: unknown schema fingerprint "
        f"{crc64_fingerprint(TELEPORTED).hex()} (not in schemas/)"
    )
    assert teleported.raw == unknown_type
    myspace = dead[pipeline.topic(COMMUNITY_EVENTS)]
    assert myspace.headers["error_class"] == b"DeserializationError"
    where = f"{pipeline.topic(COMMUNITY_EVENTS)}[0]@0"
    assert myspace.headers["error"].decode() == (
        f"{where}: unknown schema fingerprint {crc64_fingerprint(newer).hex()} (not in schemas/)"
    )
    assert myspace.raw == unknown_provider
    [score] = pipeline.read(ENGAGEMENT_SCORES, expect=1)
    assert score.value.source_event_id == good.event_id
    assert pipeline.health()["healthy"] is True


STREAMS = {
    "scoring": {
        "half_life_hours": 168,
        "product_weights": {"FeatureUsed": 2.0, "ApiCall": 1.0},
        "community_weights": {},
        "failed_api_call_weight": 1.0,
    },
    "triggers": {"api_error_streak": 3},
}


def test_a_very_old_event_is_late_it_counts_in_the_score_and_fires_nothing(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=1, streams=STREAMS)
    pipeline.start_workers(1)
    old, fresh = ev.product("old"), ev.product("fresh")
    recent = ev.make("FeatureUsed", old, ev.at(0, days=30), feature="export")
    # A month older than the user's latest product event: five failed calls in a row.
    late = [
        ev.make("ApiCall", old, ev.at(6 + k), endpoint="/x", status_code=500, error_class="e")
        for k in range(5)
    ]
    # The control: the same five failures, in time, for another user, fire API_ERRORS.
    timely = [
        ev.make("ApiCall", fresh, ev.at(6 + k), endpoint="/x", status_code=500, error_class="e")
        for k in range(5)
    ]
    send_events(pipeline.settings, [recent, *late, *timely])

    scores = pipeline.read(ENGAGEMENT_SCORES, expect=11, settle=1.0)
    by_event = {r.value.source_event_id: r.value for r in scores}
    assert len(by_event) == 11
    last = by_event[late[-1].event_id]
    # Counted: each late failure adds its weight decayed from its own time to the score's
    # as_of (day 30), which does not move back.
    expected = 2.0 + sum(0.5 ** ((720 - (6 + k)) / 168) for k in range(5))
    assert (last.event_count, last.score) == (6, round(expected, 6))  # scores carry 6 decimals
    assert last.as_of == recent.occurred_at
    # Fires nothing: the only trigger is the control user's, through several ticks.
    triggers = pipeline.read(CHURN_TRIGGERS, expect=1, settle=5.0)
    assert [(t.value.canonical_id, t.value.reason.value) for t in triggers] == [
        (deterministic_canonical_id("product", "fresh"), "API_ERRORS")
    ]


def test_a_message_with_neither_key_nor_value_is_a_dead_letter_and_the_agent_lives_on(
    pipeline_factory,
) -> None:
    """A keyless tombstone: nothing to decode, nothing to key the dead letter by."""
    pipeline = pipeline_factory(partitions=1)
    pipeline.start_workers(1)
    producer = Producer(pipeline.settings.kafka.confluent_config())
    producer.produce(pipeline.topic(PRODUCT_EVENTS), key=None, value=None)
    assert producer.flush(10) == 0
    good = ev.make("FeatureUsed", ev.product("carol"), ev.at(1), feature="export")
    send_events(pipeline.settings, [good])
    [dead] = pipeline.read_raw(DEAD_LETTERS, expect=1, settle=1.0)
    assert dead.headers["source_offset"] == b"0"
    assert (
        dead.headers["error"].decode().endswith("empty value (null or zero bytes), expected an Avro record")
    )
    [score] = pipeline.read(ENGAGEMENT_SCORES, expect=1)
    assert score.value.source_event_id == good.event_id
    health = pipeline.health()
    assert health["healthy"] is True, health


def test_an_event_from_the_future_is_a_dead_letter_and_never_moves_event_time(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=1, streams=STREAMS)
    pipeline.start_workers(1)
    asker, other = ev.product("asker"), ev.product("other")
    question = ev.make(
        "PostCreated", asker, ev.at(0), post_id="q1", channel="help", title="stuck", is_question=True
    )
    # Dated three days past the worker's clock: had it moved event time, the question
    # (unanswered 48 h later) would be judged at once.
    future_at = datetime.now(UTC) + timedelta(hours=72)
    future = ev.make("FeatureUsed", other, future_at, feature="export")
    send_events(pipeline.settings, [question, future])
    [dead] = pipeline.read_raw(DEAD_LETTERS, expect=1, settle=1.0)
    assert dead.headers["error_class"] == b"FutureEventError"
    error = dead.headers["error"].decode()
    assert error.startswith(f"field occurred_at {future_at.isoformat(timespec='milliseconds')[:19]}")
    assert "ahead of the worker's clock" in error and error.endswith("(tolerance 24 h)")
    assert pipeline.read(CHURN_TRIGGERS, expect=0, settle=3.0) == []
    # The control: an event three days after the question moves event time past its due.
    send_events(pipeline.settings, [ev.make("FeatureUsed", other, ev.at(72), feature="export")])
    [trigger] = pipeline.read(CHURN_TRIGGERS, expect=1, settle=1.0)
    assert (trigger.value.canonical_id, trigger.value.reason.value) == (
        deterministic_canonical_id("product", "asker"),
        "QUESTION_UNANSWERED",
    )
    # Judged at the event time it came due (asked + 48 h), whenever the judgement ran.
    assert trigger.value.fired_at == ev.at(48)
