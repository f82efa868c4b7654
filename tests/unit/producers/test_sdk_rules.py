"""Producer SDK rules that need no broker: validation, keying, configuration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from foundation.settings import Settings
from producers.exceptions import EventValidationError
from producers.sdk import EventProducer, message_key, producer_config
from schemas import models
from schemas.catalog import SchemaCatalog
from schemas.identity import deterministic_canonical_id
from schemas.serde import AvroSerde
from tests.fixtures import events as ev
from tests.unit.sinks import samples


def test_key_is_the_canonical_id_when_known_else_the_normalised_identity() -> None:
    event = ev.make("FeatureUsed", ev.email(" Ada@Example.com "), ev.at(0), feature="x")
    assert message_key(event) == b"email:ada@example.com"
    known = event.model_copy(update={"canonical_id": "c-1"})
    assert message_key(known) == b"c-1"


def test_links_are_always_keyed_by_their_first_identity() -> None:
    link = ev.link(ev.product("u1"), ev.email("a@example.com"), ev.at(0), canonical_id="c-9")
    assert message_key(link) == b"product:u1"


def test_placeholder_identity_is_refused_naming_the_field() -> None:
    event = ev.make("SessionStarted", ev.product("anonymous"), ev.at(0), session_id="s", platform="web")
    with pytest.raises(EventValidationError, match=r"identity\.external_id: .*not a person's identity"):
        message_key(event)


def test_config_is_idempotent_acks_all_and_uses_kafkas_partitioner() -> None:
    conf = producer_config(Settings(kafka={"bootstrap_servers": "h:1"}), "svc")
    assert conf["enable.idempotence"] is True
    assert conf["acks"] == "all"
    assert conf["partitioner"] == "murmur2_random"
    assert conf["bootstrap.servers"] == "h:1"
    assert conf["client.id"] == "svc"


def test_invalid_dict_raises_naming_each_field_and_sends_nothing() -> None:
    # Nothing listens on port 9: had anything been enqueued, close() would report it undelivered.
    settings = Settings(kafka={"bootstrap_servers": "127.0.0.1:9"}, producer={"delivery_timeout_ms": 1000})
    producer = EventProducer(settings, source="tests")
    with pytest.raises(EventValidationError) as info:
        producer.send_dict(
            models.FeatureUsed,
            {"event_id": "e", "occurred_at": "not a time", "source": "s",
             "identity": {"provider": "email", "external_id": "a@b.c"}, "payload": {}},
        )  # fmt: skip
    message = str(info.value)
    assert "field occurred_at" in message
    assert "field payload.feature" in message
    producer.close(timeout=2)  # raises if anything was queued


def test_canonical_id_from_the_sdk_matches_the_workers_rule() -> None:
    event = ev.make("FeatureUsed", ev.product("U-1"), ev.at(0), feature="x")
    assert message_key(event) == b"product:U-1"
    assert deterministic_canonical_id("product", "U-1") == deterministic_canonical_id("product", " U-1 ")


UNREACHABLE = {"kafka": {"bootstrap_servers": "127.0.0.1:9"}, "producer": {"delivery_timeout_ms": 1000}}


def test_prepared_bytes_are_the_serdes_encoding_of_the_stamped_model() -> None:
    # The serde's model path (model_copy + to_avro) is the reference for the one-dump path.
    now = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    serde = AvroSerde(SchemaCatalog.load())
    producer = EventProducer(Settings(**UNREACHABLE), source="svc", serde=serde, clock=lambda: now)
    events = [*samples.product_events(), *samples.community_events(), samples.link()]
    events.append(events[0].model_copy(update={"source": "", "canonical_id": None}))
    for event in events:
        prepared = producer.prepare(event)
        stamped = event.model_copy(
            update={"sent_at": now.replace(microsecond=891000), "source": event.source or "svc"}
        )
        assert prepared.value == serde.encode(stamped, prepared.topic), type(event).__name__
        assert prepared.key == message_key(event)
        assert serde.decode(prepared.value, topic=prepared.topic) == stamped
    producer.close(timeout=2)


def test_a_batch_with_one_bad_event_is_refused_naming_it_and_nothing_is_sent() -> None:
    producer = EventProducer(Settings(**UNREACHABLE), source="tests")
    good = ev.make("FeatureUsed", ev.product("u1"), ev.at(0), feature="x")
    bad = ev.make("SessionStarted", ev.product("anonymous"), ev.at(1), session_id="s", platform="web")
    with pytest.raises(EventValidationError, match=r"event 2 of the batch: field identity\.external_id"):
        producer.send_batch([good, good, bad, good])
    with pytest.raises(EventValidationError, match="event 1 of the batch: expected a contract event model"):
        producer.send_batch([good, {"event_id": "e"}])  # type: ignore[list-item]
    assert producer.send_batch([]).result(timeout=1) == []
    producer.close(timeout=2)  # raises if anything was queued
