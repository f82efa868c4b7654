"""State is idempotent to redelivery: a re-sent event and a replay after SIGKILL change nothing."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas.identity import deterministic_canonical_id
from schemas.topics import COMMUNITY_EVENTS, ENGAGEMENT_SCORES, PRODUCT_EVENTS
from tests.fixtures import events as ev
from tests.fixtures.streams import send_events

pytestmark = pytest.mark.integration


def _counts(records) -> dict[str, tuple[str, int]]:
    """event id -> (user, event_count) of each score update."""
    return {r.value.source_event_id: (r.value.canonical_id, r.value.event_count) for r in records}


def _rewind_resolve_stage(pipeline) -> None:
    """As if the worker had died before committing anything: its input is read again from 0."""
    s = pipeline.settings
    consumer = Consumer(
        {
            **s.kafka.confluent_config(),
            "group.id": s.topics.name(f"{s.worker.app_id}-resolve"),
            "enable.auto.commit": False,
        }
    )
    try:
        tps = [
            TopicPartition(pipeline.topic(base), p, 0)
            for base in (PRODUCT_EVENTS, COMMUNITY_EVENTS)
            for p in range(s.topics.partitions)
        ]
        consumer.commit(offsets=tps, asynchronous=False)
        committed = consumer.committed(tps, timeout=10)
        assert [tp.offset for tp in committed] == [0] * len(tps)
    finally:
        consumer.close()


def test_a_resent_event_is_counted_once(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=2)
    pipeline.start_workers(1)
    user = ev.product("resender")
    first = ev.make("FeatureUsed", user, ev.at(0), feature="a")
    second = ev.make("FeatureUsed", user, ev.at(1), feature="b")
    # The service retried ``first`` (same event_id) after a timeout, then sent ``second``.
    send_events(pipeline.settings, [first, first, second])
    records = pipeline.read(ENGAGEMENT_SCORES, expect=2, settle=3.0)
    assert len(records) == 2
    user_id = deterministic_canonical_id("product", "resender")
    assert _counts(records) == {first.event_id: (user_id, 1), second.event_id: (user_id, 2)}


def test_a_worker_killed_and_replayed_from_the_start_applies_nothing_twice(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=2)
    [worker] = pipeline.start_workers(1)
    ann, bob = ev.product("ann"), ev.product("bob")
    events = [ev.make("FeatureUsed", who, ev.at(h), feature="a") for h in range(3) for who in (ann, bob)]
    events.append(ev.make("MemberJoined", ann, ev.at(4), community="forum"))
    send_events(pipeline.settings, events)
    before = pipeline.read(ENGAGEMENT_SCORES, expect=len(events))
    assert len(before) == len(events)
    time.sleep(2)  # a commit interval or more: the usual case is a kill between commits
    worker.kill()  # SIGKILL: nothing flushed, nothing committed on the way out
    _rewind_resolve_stage(pipeline)
    pipeline.start_workers(1)
    later = ev.make("FeatureUsed", ann, ev.at(5), feature="b")
    send_events(pipeline.settings, [later])
    # The killed member holds its partitions until its session times out.
    after = pipeline.read(ENGAGEMENT_SCORES, expect=len(events) + 1, settle=3.0, timeout=120)
    # At-least-once may re-emit an update whose state write had not reached the changelog
    # before the kill, but only with the same id and the same values: never a second count.
    values: dict[str, set[tuple]] = {}
    for r in after:
        u = r.value
        values.setdefault(u.update_id, set()).add((u.event_count, u.score, u.orbit_level))
    assert all(len(v) == 1 for v in values.values()), values
    assert len(values) == len(events) + 1
    ann_id = deterministic_canonical_id("product", "ann")
    assert _counts(after)[later.event_id] == (ann_id, 5)  # 3 uses + joined + this one, not 9
    assert _counts(after[: len(before)]) == _counts(before)
