"""Identity resolution and the per-user join, on the real broker with a real worker."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from foundation.names import COMMUNITY_BY_USER, PRODUCT_BY_USER
from schemas.identity import deterministic_canonical_id
from schemas.topics import DEAD_LETTERS, ENGAGEMENT_SCORES, IDENTITY_LINKS, IDENTITY_REFUSALS, PRODUCT_EVENTS
from tests.fixtures import events as ev
from tests.fixtures.streams import send_events

pytestmark = pytest.mark.integration


def test_one_person_across_sources_and_identities_joins_on_one_canonical_id_and_partition(pipeline_factory):
    pipeline = pipeline_factory(partitions=4)
    pipeline.start_workers(1)
    ada_product, ada_email, ada_github = ev.product("ada-1"), ev.email("Ada@Example.com"), ev.github("AdaL")
    send_events(
        pipeline.settings,
        [ev.link(ada_product, ada_email, ev.at(0)), ev.link(ada_email, ada_github, ev.at(0.1))],
    )
    # No wait for the links: links written before the events apply to them (docs/identity.md).
    activity = [
        ev.make("FeatureUsed", ada_product, ev.at(1), feature="dashboards", is_key_feature=True),
        ev.make(
            "PostCreated", ada_email, ev.at(2), post_id="p1", channel="help", title="How?", is_question=True
        ),
        ev.make("ReplyCreated", ada_github, ev.at(3), reply_id="r1", post_id="p0", post_author=None),
        ev.make("SessionStarted", ev.product("bob-2"), ev.at(4), session_id="s1", platform="web"),
    ]
    send_events(pipeline.settings, activity)
    product = pipeline.read(PRODUCT_BY_USER, expect=2)
    community = pipeline.read(COMMUNITY_BY_USER, expect=2)
    ada = deterministic_canonical_id("product", "ada-1")
    bob = deterministic_canonical_id("product", "bob-2")
    by_event = {r.value.event_id: r for r in product + community}
    ada_records = [by_event[e.event_id] for e in activity[:3]]
    assert {r.value.canonical_id for r in ada_records} == {ada}
    assert {r.key for r in ada_records} == {ada.encode()}
    assert len({r.partition for r in ada_records}) == 1, "both sources of one user on one partition"
    assert by_event[activity[3].event_id].value.canonical_id == bob
    # The resolved record is the original event, canonical id filled in.
    assert ada_records[0].value.payload == activity[0].payload
    assert ada_records[0].value.identity == activity[0].identity


def test_merge_guard_refuses_joining_two_people_and_records_it(pipeline_factory):
    pipeline = pipeline_factory(partitions=2)
    pipeline.start_workers(1)
    send_events(
        pipeline.settings,
        [
            ev.link(ev.product("p1"), ev.email("one@example.com"), ev.at(0)),
            ev.link(ev.product("p2"), ev.email("two@example.com"), ev.at(0)),
        ],
    )
    bad = ev.link(ev.email("one@example.com"), ev.product("p2"), ev.at(1))
    send_events(pipeline.settings, [bad])
    # The SDK refuses placeholder ids itself; another producer may still publish one.
    illegal = ev.link(ev.product("guest"), ev.email("three@example.com"), ev.at(1))
    topic = pipeline.topic(IDENTITY_LINKS)
    producer = Producer(pipeline.settings.kafka.confluent_config())
    producer.produce(topic, key=b"product:guest", value=pipeline.serde.encode(illegal, topic))
    producer.flush(10)
    refusals = pipeline.read(IDENTITY_REFUSALS, expect=2)
    by_id = {r.value.refusal_id: r.value for r in refusals}
    assert by_id[bad.event_id].reason == "both_have_other_identities"
    assert by_id[bad.event_id].canonical_id == deterministic_canonical_id("product", "p1")
    assert by_id[bad.event_id].linked_canonical_id == deterministic_canonical_id("product", "p2")
    assert by_id[illegal.event_id].reason == "illegal_id"
    # Both people stay apart afterwards.
    send_events(
        pipeline.settings,
        [ev.make("SessionStarted", ev.email("one@example.com"), ev.at(2), session_id="s", platform="web")],
    )
    [resolved] = pipeline.read(PRODUCT_BY_USER, expect=1)
    assert resolved.value.canonical_id == deterministic_canonical_id("product", "p1")


def test_garbage_and_wrong_schema_go_to_dead_letters_and_the_worker_keeps_going(pipeline_factory):
    pipeline = pipeline_factory(partitions=1)
    pipeline.start_workers(1)
    topic = pipeline.topic(PRODUCT_EVENTS)
    wrong_schema = pipeline.serde.encode(
        ev.link(ev.product("x"), ev.email("x@example.com"), ev.at(0)), topic
    )  # a valid record of a type that does not belong on product-events
    producer = Producer(pipeline.settings.kafka.confluent_config())
    producer.produce(topic, key=b"k1", value=b"\x00\x01garbage")
    producer.produce(topic, key=b"k2", value=wrong_schema)
    producer.flush(10)
    good = ev.make("FeatureUsed", ev.product("carol"), ev.at(1), feature="export")
    send_events(pipeline.settings, [good])
    dead = pipeline.read_raw(DEAD_LETTERS, expect=2)
    assert [d.raw for d in dead] == [b"\x00\x01garbage", wrong_schema]
    assert [d.key for d in dead] == [b"k1", b"k2"]
    first, second = dead
    assert first.headers["source_topic"] == topic.encode()
    assert first.headers["source_partition"] == b"0"
    assert first.headers["source_offset"] == b"0"
    assert first.headers["stage"] == b"resolve-product"
    assert first.headers["error_class"] == b"DeserializationError"
    assert second.headers["source_offset"] == b"1"
    assert b"IdentityLink" in second.headers["error"]
    [resolved] = pipeline.read(PRODUCT_BY_USER, expect=1)
    assert resolved.value.event_id == good.event_id
    assert all(w.alive() for w in pipeline.workers)
    health = pipeline.health()
    assert health["status"] == 200 and health["healthy"] is True
    assert health["agents"]["resolve-product"]["dead_lettered"] == 2
    assert health["agents"]["resolve-product"]["processed"] == 1
    assert health["agents"]["resolve-product"]["alive"] is True


def test_an_event_resolved_before_its_link_and_folded_after_the_merge_reaches_the_person(pipeline_factory):
    # Nothing is idle for a minute: the join folds an entry only once every input has
    # passed it, so the tags decide the order of events, link and merge (an unrelated link
    # and a third user's events move the inputs' clocks on).
    pipeline = pipeline_factory(partitions=1, worker={"source_idle_ms": 60_000})
    pipeline.start_workers(1)
    product, github, clock = ev.product("grace-1"), ev.github("GraceH"), ev.github("clock")
    person = deterministic_canonical_id("product", "grace-1")
    old = deterministic_canonical_id("github", "GraceH")
    first = ev.make("ReactionAdded", github, ev.at(1), post_id="p", reaction="+1")
    used = ev.make("FeatureUsed", product, ev.at(2), feature="export")
    tick = ev.make("ReactionAdded", clock, ev.at(2.2), post_id="p", reaction="+1")
    unrelated = ev.link(ev.product("other-9"), ev.email("other@example.com"), ev.at(2.3))
    send_events(pipeline.settings, [unrelated, first, used, tick])
    assert {r.value.canonical_id for r in pipeline.read(ENGAGEMENT_SCORES, expect=2)} == {old, person}
    # Written before its link, so resolved to the GitHub identity's own id, and tagged
    # after the link: the old id gets it after its activity moved to the person.
    held = ev.make("ReactionAdded", github, ev.at(3), post_id="p", reaction="heart")
    later = ev.make("FeatureUsed", product, ev.at(4), feature="export")
    send_events(
        pipeline.settings,
        [held, later, ev.make("ReactionAdded", clock, ev.at(5), post_id="p", reaction="+1")],
    )
    # The link is written only once ``held`` is resolved (else the stage could read both
    # in one catch-up and resolve ``held`` to the person directly).
    resolved = {r.value.event_id: r.value for r in pipeline.read(COMMUNITY_BY_USER, expect=4)}
    assert resolved[held.event_id].canonical_id == old
    # Until the links move past 4 h nothing after the link's 2.5 h is released, so ``held``
    # and ``later`` are released in one fold (whether or not the merge markers came before):
    # the order below does not depend on when the worker fetched what.
    send_events(pipeline.settings, [ev.link(product, github, ev.at(2.5))])
    moves_links_on = ev.link(ev.product("other-8"), ev.email("other8@example.com"), ev.at(4.5))
    send_events(pipeline.settings, [moves_links_on])
    scores = {r.value.update_id: r.value for r in pipeline.read(ENGAGEMENT_SCORES, expect=7, settle=1.0)}
    assert len(scores) == 7, [(u.update_id, u.event_count) for u in scores.values()]
    forwarded = scores[f"{person}:{held.event_id}"]
    assert (forwarded.canonical_id, forwarded.source_event_id) == (person, held.event_id)
    merge = [u for u in scores.values() if u.update_id.startswith(f"{person}:merge:")]
    assert [u.event_count for u in merge] == [2]  # used, and first moved in at the link
    # In the one order: the merge (2.5 h), then ``later`` (which waited for the merged
    # activity), then the forwarded event, sent on after the merge's own activity.
    assert scores[f"{person}:{later.event_id}"].event_count == 3
    assert forwarded.event_count == 4
    assert [u.event_count for u in scores.values() if u.canonical_id == old] == [1, 1]
