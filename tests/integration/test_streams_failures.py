"""What a worker does with a message it cannot forward, on the real broker: an oversized
event ends in dead-letters (a bounded letter), and a dead letter that cannot be delivered
stops the worker before its partition's offset moves past the message."""

from __future__ import annotations

import hashlib

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from foundation.waiting import poll_until
from schemas.identity import deterministic_canonical_id, identity_key
from schemas.topics import COMMUNITY_EVENTS, DEAD_LETTERS, ENGAGEMENT_SCORES
from streams.errors import FATAL_EXIT_CODE
from tests.fixtures import events as ev
from tests.fixtures.streams import Pipeline

pytestmark = pytest.mark.integration

BIG_TOPIC_LIMIT = 8 * 1024 * 1024
AUTHOR = ev.github("verbose")


def _allow_big_messages(pipeline: Pipeline) -> None:
    """community-events accepts messages up to 8 MiB (the broker's default is 1 MiB)."""
    admin = AdminClient(pipeline.settings.kafka.confluent_config())
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        pipeline.topic(COMMUNITY_EVENTS),
        incremental_configs=[
            ConfigEntry(
                "max.message.bytes", str(BIG_TOPIC_LIMIT), incremental_operation=AlterConfigOpType.SET
            )
        ],
    )
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def _send_big_then_small(pipeline: Pipeline) -> bytes:
    """A 2 MiB community event, then an ordinary one on the same partition; the big one's bytes."""
    topic = pipeline.topic(COMMUNITY_EVENTS)
    big = ev.make(
        "PostCreated", AUTHOR, ev.at(0), post_id="p-big", channel="c", title="x" * (2 * 1024 * 1024)
    )
    small = ev.make("PostCreated", ev.github("terse"), ev.at(1), post_id="p-small", channel="c", title="hi")
    producer = Producer({**pipeline.settings.kafka.confluent_config(), "message.max.bytes": BIG_TOPIC_LIMIT})
    raw = pipeline.serde.encode(big, topic)
    for event, value in ((big, raw), (small, pipeline.serde.encode(small, topic))):
        key = identity_key(event.identity.provider, event.identity.external_id).encode()
        producer.produce(topic, key=key, value=value, partition=0)
    assert producer.flush(30) == 0
    return raw


def _committed(pipeline: Pipeline, topic: str) -> int:
    """What the resolve stage (which reads the event topics) has committed on ``topic``."""
    consumer = Consumer(
        {
            **pipeline.settings.kafka.confluent_config(),
            "group.id": f"{pipeline.group_id}-resolve",
            "enable.auto.commit": False,
        }
    )
    try:
        (tp,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return int(tp.offset)
    finally:
        consumer.close()


def _assert_bounded_dead_letter(pipeline: Pipeline, raw: bytes, timeout: float = 30) -> None:
    (letter,) = pipeline.read_raw(DEAD_LETTERS, expect=1, settle=1.0, timeout=timeout)
    key = identity_key(AUTHOR.provider, AUTHOR.external_id).encode()
    bound = pipeline.settings.worker.dead_letter_max_bytes
    assert (letter.key, letter.raw) == (key, raw[: bound - len(key)])
    headers = letter.headers
    assert (headers["stage"], headers["source_topic"], headers["source_offset"]) == (
        b"resolve-community",
        pipeline.topic(COMMUNITY_EVENTS).encode(),
        b"0",
    )
    assert (headers["truncated"], headers["original_value_size"], headers["original_value_sha256"]) == (
        b"true",
        str(len(raw)).encode(),
        hashlib.sha256(raw).hexdigest().encode(),
    )
    assert b"too large to forward" in headers["error"]
    assert f"truncated to its first {bound - len(key)} of {len(raw)} value bytes".encode() in headers["error"]


def test_an_oversized_event_ends_in_dead_letters_and_the_worker_goes_on(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=1)
    _allow_big_messages(pipeline)
    pipeline.start_workers(1)
    raw = _send_big_then_small(pipeline)
    assert len(raw) > 2 * 1024 * 1024
    _assert_bounded_dead_letter(pipeline, raw)
    # The event after it is processed: the worker kept going, and says it is healthy.
    (score,) = pipeline.read(ENGAGEMENT_SCORES, expect=1, settle=1.0)
    assert score.value.canonical_id == deterministic_canonical_id("github", "terse")
    assert pipeline.health()["status"] == 200


def test_a_worker_that_cannot_dead_letter_stops_before_its_offset_moves_past_the_message(
    pipeline_factory,
) -> None:
    pipeline = pipeline_factory(partitions=1)
    _allow_big_messages(pipeline)
    # A bound above the producer's 1 MiB request limit: the dead letter cannot be sent either.
    good = pipeline.settings
    worker = good.worker.model_copy(update={"dead_letter_max_bytes": 4 * 1024 * 1024})
    pipeline.settings = good.model_copy(update={"worker": worker})
    (first,) = pipeline.start_workers(1)
    raw = _send_big_then_small(pipeline)
    poll_until(lambda: not first.alive(), 60, 0.2)
    assert first.returncode == FATAL_EXIT_CODE, first.log_tail()
    # Neither the big event nor the one after it counts as consumed, and nothing came out.
    assert _committed(pipeline, pipeline.topic(COMMUNITY_EVENTS)) in (0, -1001)  # -1001: none committed
    assert pipeline.read(ENGAGEMENT_SCORES, expect=1, timeout=3) == []
    assert pipeline.read_raw(DEAD_LETTERS, expect=1, timeout=3) == []
    # Restarted with a bound that fits, the worker reads the message again and dead-letters it
    # (once the broker has given up on the dead worker's session: up to a minute).
    pipeline.settings = good
    pipeline.start_workers(1)
    _assert_bounded_dead_letter(pipeline, raw, timeout=120)
    (score,) = pipeline.read(ENGAGEMENT_SCORES, expect=1, settle=1.0)
    assert score.value.canonical_id == deterministic_canonical_id("github", "terse")
    assert pipeline.health("worker-2")["status"] == 200
