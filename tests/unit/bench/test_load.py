"""The benchmark's load generator sends what the producer SDK would: same bytes, key, topic."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.load import encode, prepare, written_between
from foundation.settings import Settings
from producers.population import WorkloadConfig
from producers.sdk import message_key
from producers.workload import generate
from schemas.catalog import SchemaCatalog
from schemas.models import Event, IdentityLink
from schemas.serde import AvroSerde
from schemas.topics import base_topic_for

CATALOG = SchemaCatalog.load()
SERDE = AvroSerde(CATALOG)
SETTINGS = Settings(topics={"prefix": "t1-"})
SENT_AT = datetime(2026, 3, 2, 9, 30, 15, 123000, tzinfo=UTC)
SENT_MS = 1772443815123  # SENT_AT in epoch milliseconds


def _workload() -> list[Event]:
    return [
        e for e in generate(WorkloadConfig(users=60, days=21, seed=11)) if not isinstance(e, IdentityLink)
    ]


def test_sent_at_millis_constant_is_the_datetime() -> None:
    assert datetime.fromtimestamp(SENT_MS / 1000, UTC) == SENT_AT


def test_encoded_events_are_the_sdk_serdes_bytes_and_decode_to_the_same_model() -> None:
    events = _workload()
    prepared = prepare(events, SETTINGS, CATALOG, source="bench")
    assert len(prepared) == len(events)
    kinds = set()
    for event, p in zip(events, prepared, strict=True):
        # What EventProducer.send stamps before encoding.
        stamped = event.model_copy(update={"sent_at": SENT_AT, "source": event.source or "bench"})
        topic = SETTINGS.topics.name(base_topic_for(type(event)))
        value = encode(p, SENT_MS)
        assert value == SERDE.encode(stamped, topic), event.avro_name
        assert SERDE.decode(value, topic=topic) == SERDE.decode(SERDE.encode(stamped, topic), topic=topic)
        assert SERDE.decode(value, topic=topic) == stamped
        assert (p.topic, p.key) == (topic, message_key(stamped))
        kinds.add(event.avro_name)
    # The workload covers both input topics and many record types, so the check is broad.
    assert {p.topic for p in prepared} == {"t1-product-events", "t1-community-events"}
    assert len(kinds) >= 8


def test_restamping_changes_only_sent_at() -> None:
    p = prepare(_workload()[:1], SETTINGS, CATALOG, source="bench")[0]
    first = SERDE.decode(encode(p, SENT_MS), topic=p.topic)
    later = SERDE.decode(encode(p, SENT_MS + 2500), topic=p.topic)
    assert isinstance(later, Event)
    assert later.sent_at == datetime(2026, 3, 2, 9, 30, 17, 623000, tzinfo=UTC)
    assert later.model_copy(update={"sent_at": SENT_AT}) == first


def test_written_between_counts_deltas_and_new_topics_from_zero() -> None:
    before = {"scores": 10, "users-changelog": 4, "idle": 7}
    after = {"scores": 25, "users-changelog": 9, "idle": 7, "new-repartition": 3}
    assert written_between(before, after) == {"new-repartition": 3, "scores": 15, "users-changelog": 5}
