"""Bad input into a running worker: 10,000 random, truncated and wrong-schema messages
interleaved with good events. Every bad one becomes a dead letter that says why and
where from; every good one is processed; the worker stays healthy."""

from __future__ import annotations

import io
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Producer
from fastavro import schemaless_reader, schemaless_writer

from producers.sdk import message_key, producer_config
from schemas.catalog import SchemaCatalog
from schemas.models import Event
from schemas.topics import COMMUNITY_EVENTS, DEAD_LETTERS, ENGAGEMENT_SCORES, IDENTITY_LINKS, PRODUCT_EVENTS
from tests.fixtures import events as ev

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BAD = 10_000
GOOD_USERS = 40
GOOD_PER_USER = 10
CATALOG = SchemaCatalog.load()


@dataclass
class Sent:
    kind: str  # "good" or the kind of bad message
    topic: str
    key: bytes | None
    value: bytes | None
    event_id: str | None = None
    partition: int = -1
    offset: int = -1


def good_events() -> list[Event]:
    out: list[Event] = []
    for u in range(GOOD_USERS):
        who = ev.product(f"user-{u}")
        for i in range(GOOD_PER_USER):
            if i % 2:
                out.append(
                    ev.make("ReactionAdded", who, ev.at(i, days=u % 3), post_id=f"p{i}", reaction="+1")
                )
            else:
                out.append(ev.make("FeatureUsed", who, ev.at(i, days=u % 3), feature="export"))
    return out


def bad_messages(
    rng: random.Random, valid: list[tuple[str, bytes]], serde: Any
) -> list[tuple[str, str, bytes | None]]:
    """(kind, base topic, value) for BAD messages of seven kinds."""
    link = serde.encode(ev.link(ev.product("x"), ev.email("x@example.com"), ev.at(0)), IDENTITY_LINKS)
    feature = serde.encode(ev.make("FeatureUsed", ev.product("y"), ev.at(0), feature="f"), PRODUCT_EVENTS)
    topics = [PRODUCT_EVENTS, COMMUNITY_EVENTS, IDENTITY_LINKS]
    out: list[tuple[str, str, bytes | None]] = []
    for i in range(BAD):
        kind = ("random", "empty", "truncated", "wrong-schema", "unknown-type", "unknown-provider", "null")[
            i % 7
        ]
        topic = rng.choice(topics)
        value: bytes | None
        if kind == "random":
            value = bytes([rng.choice([0x00, 0xC3, 0x7B, 0xFF])]) + rng.randbytes(rng.randint(0, 120))
        elif kind == "empty":
            value = b""
        elif kind == "null":
            value = None
        elif kind == "truncated":
            _, whole = rng.choice(valid)
            value = whole[: rng.randint(1, len(whole) - 1)]
        elif kind == "wrong-schema":  # a valid record of a type that does not belong on the topic
            value = feature if topic == IDENTITY_LINKS else link
        elif kind == "unknown-type":  # a record type this contract does not know
            value = b"\xc3\x01" + rng.randbytes(8) + rng.randbytes(rng.randint(0, 40))
        else:  # the provider enum's index (first varint of the identity) past its five symbols
            value = _with_unknown_provider(link if topic == IDENTITY_LINKS else feature)
        out.append((kind, topic, value))
    return out


def _with_unknown_provider(encoded: bytes) -> bytes:
    """Re-encode with the identity's provider index set to 7 (Avro enum = zig-zag varint)."""
    entry = CATALOG.by_fingerprint(encoded[2:10])
    assert entry is not None
    record = schemaless_reader(io.BytesIO(encoded[10:]), entry.parsed, None)
    marker = "zzmarkerzz"
    record["identity"]["external_id"] = marker
    buf = io.BytesIO()
    schemaless_writer(buf, entry.parsed, record)
    body = buf.getvalue()
    # The provider enum is written just before the external_id string (length + bytes).
    at = body.index(marker.encode()) - 2  # 1 byte enum index, 1 byte string length (20 = 2*10)
    patched = body[:at] + bytes([14]) + body[at + 1 :]  # zig-zag 14 = index 7
    return encoded[:10] + patched


EXPECTED_REASON = {
    "empty": "empty value",
    "null": "empty value",
    "truncated": "",  # header truncated, unknown encoding or body does not decode: any named reason
    "wrong-schema": "expected",
    "unknown-type": "unknown schema fingerprint",
    "unknown-provider": "body does not decode",
    "random": "",
}


def test_every_bad_message_is_a_dead_letter_with_its_reason_and_every_good_one_is_processed(
    pipeline_factory,
) -> None:
    pipeline = pipeline_factory(partitions=2)
    pipeline.start_workers(1)
    rng = random.Random(20)
    serde = pipeline.serde
    goods = good_events()
    encoded_goods = [(e.event_id, serde.encode(e, pipeline.topic(PRODUCT_EVENTS))) for e in goods]
    plan: list[Sent] = []
    for kind, base, value in bad_messages(rng, [(i, v) for i, v in encoded_goods], serde):
        key = None if rng.random() < 0.2 else rng.randbytes(rng.randint(1, 12))
        plan.append(Sent(kind, pipeline.topic(base), key, value))
    # Good events keep their order among themselves; bad ones fall anywhere between them.
    slots = sorted(rng.sample(range(len(plan) + len(goods)), len(goods)))
    for slot, event in zip(slots, goods, strict=True):
        topic = pipeline.topic(PRODUCT_EVENTS if type(event).__name__ == "FeatureUsed" else COMMUNITY_EVENTS)
        plan.insert(slot, Sent("good", topic, message_key(event), serde.encode(event, topic), event.event_id))

    producer = Producer(producer_config(pipeline.settings, "bad-input-test"))
    for sent in plan:

        def delivered(err: Any, msg: Any, sent: Sent = sent) -> None:
            assert err is None, err
            sent.partition, sent.offset = msg.partition(), msg.offset()

        producer.produce(sent.topic, key=sent.key, value=sent.value, on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(60) == 0
    bad = [s for s in plan if s.kind != "good"]
    assert len(bad) == BAD and all(s.offset >= 0 for s in plan)

    dead = pipeline.read_raw(DEAD_LETTERS, expect=BAD, timeout=300, settle=3.0)
    by_source = {
        (
            d.headers["source_topic"].decode(),
            int(d.headers["source_partition"]),
            int(d.headers["source_offset"]),
        ): d
        for d in dead
    }
    assert len(dead) == BAD  # one each, none twice
    assert set(by_source) == {(s.topic, s.partition, s.offset) for s in bad}
    reasons: Counter[str] = Counter()
    for s in bad:
        d = by_source[(s.topic, s.partition, s.offset)]
        error = d.headers["error"].decode()
        assert error.startswith(f"{s.topic}[{s.partition}]@{s.offset}: "), (s.kind, error)
        assert EXPECTED_REASON[s.kind] in error, (s.kind, error)
        if s.key is None and s.value is None:
            # Neither key nor value: an empty value marked null (Faust sends no such record).
            assert (d.raw, d.key, d.headers["null_value"]) == (b"", None, b"true")
        else:
            assert d.raw == s.value and d.key == s.key  # the original bytes, to replay once fixed
        reasons[d.headers["error_class"].decode()] += 1
    assert set(reasons) <= {"DeserializationError", "UnexpectedRecordError"}, reasons

    scores = pipeline.read(ENGAGEMENT_SCORES, expect=len(goods), timeout=120, settle=2.0)
    assert sorted(r.value.source_event_id for r in scores) == sorted(e.event_id for e in goods)
    # The last update of each user counted all ten of the user's events.
    last = {r.value.canonical_id: r.value.event_count for r in scores}
    assert set(last.values()) == {GOOD_PER_USER} and len(last) == GOOD_USERS
    health = pipeline.health()
    assert health["status"] == 200 and health["healthy"] is True
    agents = health["agents"]
    assert sum(a["dead_lettered"] for a in agents.values()) == BAD
    assert all(w.alive() for w in pipeline.workers)
