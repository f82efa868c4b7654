"""Interoperability with Apache Avro's Java single-object encoding (BinaryMessageEncoder/Decoder).

Events encoded by Java reach the stream worker over the real broker and are scored; the
score updates the worker writes are read back by Java's decoder. Every contract record
also crosses both ways through the serde alone.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from producers.sdk import message_key, producer_config
from schemas import models
from schemas.catalog import SchemaCatalog
from schemas.identity import deterministic_canonical_id
from schemas.serde import AvroSerde
from schemas.topics import ENGAGEMENT_SCORES, base_topic_for
from tests.fixtures import events as ev
from tests.fixtures.avro_java import AvroJava
from tests.fixtures.events import sample_instance

pytestmark = pytest.mark.integration

CATALOG = SchemaCatalog.load()
SERDE = AvroSerde(CATALOG, accept_reversed_fingerprints=False)
SCORE_UPDATE = "orbitstream.outputs.EngagementScoreUpdate"
STREAMS = {
    "scoring": {
        "half_life_hours": 168,
        "product_weights": {"FeatureUsed": 2.0},
        "community_weights": {"MemberJoined": 1.0},
    },
    "orbit": {"activity_weights": {"MemberJoined": 1}, "weight_thresholds": [8, 5, 3]},
}


def test_every_record_crosses_both_ways_with_avros_java_implementation(avro_java: AvroJava) -> None:
    instances = [sample_instance(model) for model in models.ALL_MODELS]
    ours = [SERDE.encode(instance, "t") for instance in instances]
    theirs = avro_java.encode(instances)
    assert [SERDE.decode(value, topic="t") for value in theirs] == instances
    read = avro_java.decode([(i.avro_name, value) for i, value in zip(instances, ours, strict=True)])
    assert [type(i).from_avro(r) for i, r in zip(instances, read, strict=True)] == instances
    # Same schema, same datum: the same bytes, header included.
    assert ours == theirs


def test_java_encoded_events_are_scored_and_java_reads_the_score_updates(
    pipeline_factory, avro_java: AvroJava
) -> None:
    pipeline = pipeline_factory(partitions=2, streams=STREAMS)
    pipeline.start_workers(1)
    steady, member = ev.product("java-steady"), ev.product("java-member")
    events = [
        ev.make("FeatureUsed", steady, ev.at(0), feature="a"),
        ev.make("MemberJoined", member, ev.at(2), community="forum"),
        ev.make("FeatureUsed", steady, ev.at(168), feature="b"),  # one half-life later
    ]
    producer = Producer(producer_config(pipeline.settings, "avro-java"))
    for event, value in zip(events, avro_java.encode(events), strict=True):
        assert value[:2] == b"\xc3\x01"
        producer.produce(pipeline.topic(base_topic_for(type(event))), value=value, key=message_key(event))
    assert producer.flush(30) == 0
    producer.close()

    records = pipeline.read_raw(ENGAGEMENT_SCORES, expect=len(events), settle=1.0)
    assert len(records) == len(events)
    raw = [r.raw for r in records if r.raw is not None]
    read = avro_java.decode([(SCORE_UPDATE, value) for value in raw])
    # Java and our serde read the same values from every update.
    assert [models.EngagementScoreUpdate.from_avro(r) for r in read] == [
        SERDE.decode(value, topic="scores") for value in raw
    ]
    got = {
        r["source_event_id"]: (
            r["canonical_id"],
            round(r["score"], 6),
            round(r["product_score"], 6),
            round(r["community_score"], 6),
            r["orbit_level"],
            r["is_member"],
            r["event_count"],
        )
        for r in read
    }
    cid = {
        e.identity.external_id: deterministic_canonical_id("product", e.identity.external_id) for e in events
    }
    assert got == {
        events[0].event_id: (cid["java-steady"], 2.0, 2.0, 0.0, 0, False, 1),
        events[1].event_id: (cid["java-member"], 1.0, 0.0, 1.0, 4, True, 1),
        events[2].event_id: (cid["java-steady"], 3.0, 3.0, 0.0, 0, False, 2),
    }
