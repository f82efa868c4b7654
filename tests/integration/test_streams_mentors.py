"""The mentor path through the worker on the real broker and warehouse: accepted answers
in, a failure pattern in, one suggestion out (on the topic and in ClickHouse), with the
mentors in order of preference and the reasons for each; and the matcher's inputs applied
in event-time order, not in the order they arrive."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import Producer

from schemas.identity import deterministic_canonical_id
from schemas.topics import MENTOR_SUGGESTIONS
from sinks.migrate import apply_migrations
from sinks.runner import Sink
from streams.mentors.agents import HELP_REQUESTS, SOLUTIONS
from streams.messages import HelpRequest, MentorClock, Solution
from streams.partitioning import partition_of
from streams.timeconv import to_ms
from tests.fixtures import events as ev
from tests.fixtures.streams import read_topic, send_events
from tests.integration.sinks.helpers import run_until

pytestmark = pytest.mark.integration

CLASS = "auth.invalid_token"
MatcherRecord = HelpRequest | Solution | MentorClock
MENTORS = {
    "window_days": 30,
    "max_mentors": 3,
    "cooldown_hours": 24,
    "pattern_count": 2,
    "pattern_window_hours": 1,
    "inner_orbit_max_level": 1,
}
# Levels go by the heaviest activity in the window (docs/scoring.md): an accepted answer
# (3) reaches level 3, attending an event (8) level 1. Members only.
STREAMS = {
    "orbit": {
        "activity_weights": {"MemberJoined": 1, "AnswerAccepted": 3, "EventAttended": 8},
        "weight_thresholds": [8, 5, 3],
    }
}


def answer(who, hours: float, tag: str):
    return ev.make("AnswerAccepted", who, ev.at(hours), post_id=f"p{hours}", reply_id=f"r{hours}", tags=[tag])


def failure(who, when):
    return ev.make(
        "ApiCall", who, when, endpoint="/v1/query", status_code=401, error_class=CLASS, latency_ms=3
    )


def test_a_failure_pattern_gets_inner_orbit_mentors_first_never_teammates_with_reasons(
    pipeline_factory, warehouse, ch_database
) -> None:
    pipeline = pipeline_factory(
        partitions=2,
        streams=STREAMS,
        mentors=MENTORS,
        warehouse={"port": warehouse.port, "database": ch_database},
    )
    pipeline.start_workers(1)
    ivy, olga = ev.github("ivy"), ev.email("olga@gmail.com")  # no team: github, a personal domain
    carl, nina, pete = ev.email("carl@acme.io"), ev.email("nina@acme.io"), ev.product("pete")
    solutions = [
        *(ev.make("MemberJoined", who, ev.at(0), community="forum") for who in (ivy, olga, carl)),
        # ivy: attended an event (level 1), one answer on the class.
        ev.make("EventAttended", ivy, ev.at(1), event_name="office hours", kind="office_hours"),
        answer(ivy, 3, CLASS),
        # olga: two answers on the class but level 3: more solves, not inner.
        answer(olga, 1.5, CLASS),
        answer(olga, 2.5, CLASS),
        # carl: inner too, but nina's teammate (acme.io): never suggested to her.
        ev.make("EventAttended", carl, ev.at(1), event_name="office hours", kind="office_hours"),
        answer(carl, 2, CLASS),
    ]
    send_events(pipeline.settings, solutions)
    # Every solution indexed before the failures arrive (they travel on another topic).
    changelog = f"{pipeline.group_id}-solvers-changelog"
    assert len(read_topic(pipeline.settings, None, changelog, expect=4, timeout=60)) == 4

    start = ev.at(days=2)
    failures = [
        failure(nina, start),  # one failure: no pattern yet
        failure(nina, start + timedelta(minutes=10)),  # two within the hour: a pattern
        failure(nina, start + timedelta(minutes=20)),  # still one, within the cooldown: nothing
        failure(pete, start),
        failure(pete, start + timedelta(hours=2)),  # two, but not within the hour
    ]
    send_events(pipeline.settings, failures)
    records = pipeline.read(MENTOR_SUGGESTIONS, expect=1, settle=4.0, timeout=60)
    assert len(records) == 1
    s = records[0].value
    nina_id = deterministic_canonical_id("email", "nina@acme.io")
    ivy_id = deterministic_canonical_id("github", "ivy")
    olga_id = deterministic_canonical_id("email", "olga@gmail.com")
    assert records[0].key == nina_id.encode()
    assert (s.suggestion_id, s.canonical_id, s.error_class, s.error_count) == (
        f"{nina_id}:{CLASS}:{failures[1].event_id}",
        nina_id,
        CLASS,
        2,
    )
    assert (s.first_error_at, s.suggested_at, s.source_event_id) == (
        start,
        start + timedelta(minutes=10),
        failures[1].event_id,
    )
    # ivy (inner, 1 solve) before olga (2 solves, level 3 is outside the inner bound of 1).
    # Latest solves 45h10m and 45h40m before the suggestion: 1.9 days each.
    assert [
        (m.canonical_id, m.solved_count, m.last_solved_at, m.orbit_level, m.is_inner_orbit) for m in s.mentors
    ] == [
        (ivy_id, 1, ev.at(3), 1, True),
        (olga_id, 2, ev.at(2.5), 3, False),
    ]
    assert [m.reason for m in s.mentors] == [
        f"1 accepted answer on {CLASS}, the latest 1.9 days before; orbit level 1 (inner orbit)",
        f"2 accepted answers on {CLASS}, the latest 1.9 days before; orbit level 3 (outer orbit)",
    ]

    client = warehouse.client(database=ch_database)
    apply_migrations(client, ch_database)
    run_until(Sink(pipeline.settings), lambda s: s.rows_written["mentor_suggestions"] >= 1, 60)
    rows = client.query(
        "SELECT suggestion_id, canonical_id, error_class, mentors, mentor_solved_counts, "
        "mentor_orbit_levels, mentor_is_inner, mentor_reasons, error_count, first_error_at, suggested_at "
        "FROM mentor_suggestions_final"
    ).result_rows
    assert len(rows) == 1
    row = rows[0]
    assert row[:9] == (
        s.suggestion_id,
        nina_id,
        CLASS,
        [ivy_id, olga_id],
        [1, 2],
        [1, 3],
        [True, False],
        [m.reason for m in s.mentors],
        2,
    )
    assert (row[9].replace(tzinfo=start.tzinfo), row[10].replace(tzinfo=start.tzinfo)) == (
        start,
        start + timedelta(minutes=10),
    )


def matcher_inputs(pipeline: Any) -> tuple[Callable[[str, MatcherRecord], None], str, str]:
    """A sender of records straight to the matcher's input topics, to the class's
    partition, as join partitions would write them; and the two topics."""
    producer = Producer(pipeline.settings.kafka.confluent_config())
    partition = partition_of(CLASS, pipeline.settings.topics.partitions)

    def send(topic: str, record: MatcherRecord) -> None:
        producer.produce(topic, record.dumps(serializer="json"), CLASS.encode(), partition=partition)
        assert producer.flush(30) == 0

    return send, pipeline.topic(HELP_REQUESTS), pipeline.topic(SOLUTIONS)


def test_a_solution_that_arrives_after_a_later_failure_still_counts_for_it(pipeline_factory) -> None:
    """Records sent to the matcher's topics as two join partitions would: the failure (from
    nina's partition) is read before the earlier accepted answer (from ivy's partition);
    event time says the answer came first, so nina gets ivy as her mentor."""
    pipeline = pipeline_factory(partitions=2, mentors={**MENTORS, "pattern_count": 1})
    pipeline.start_workers(1)
    send, help_topic, solutions_topic = matcher_inputs(pipeline)

    def read_by_matcher() -> int:
        agent = pipeline.health()["agents"]["mentor-matching"]
        return int(agent["processed"]) + int(agent["dead_lettered"])

    nina = deterministic_canonical_id("email", "nina@acme.io")
    ivy = deterministic_canonical_id("github", "ivy")
    solved, failed, later = to_ms(ev.at(1)), to_ms(ev.at(2)), to_ms(ev.at(3))
    failure_record = HelpRequest(
        canonical_id=nina,
        error_class=CLASS,
        event_id="nina-failure",
        occurred_at_ms=failed,
        sent_at_ms=None,
        team="acme.io",
        sender=1,
        tag=failed,
        origin="product-events:1",
        origin_offset=0,
        clock_ms=later,
    )
    # Join partition 1 (nina's): her failure at 2 h, and that it has passed 3 h.
    send(help_topic, failure_record)
    send(solutions_topic, MentorClock(senders=[1], at_ms=[later], idle=[False]))
    deadline = time.monotonic() + 60
    while read_by_matcher() < 2:  # both read by the matcher before the answer is even sent
        assert time.monotonic() < deadline, "the matcher did not read the failure"
        time.sleep(0.2)
    assert pipeline.read(MENTOR_SUGGESTIONS, expect=1, timeout=2) == []
    # Join partition 0 (ivy's): her accepted answer at 1 h, sent twice (a restarted join
    # partition re-sends what it had not committed), then that it has passed 3 h.
    answer_record = Solution(
        error_class=CLASS,
        solver_canonical_id=ivy,
        solved_at_ms=solved,
        solver_orbit_level=1,
        sender=0,
        tag=solved,
        origin="community-events:0",
        origin_offset=5,
    )
    send(solutions_topic, answer_record)
    send(solutions_topic, answer_record)
    send(solutions_topic, MentorClock(senders=[0], at_ms=[later], idle=[False]))
    send(help_topic, MentorClock(senders=[0], at_ms=[later], idle=[False]))
    records = pipeline.read(MENTOR_SUGGESTIONS, expect=1, settle=3.0, timeout=60)
    assert [(r.key, r.value.suggestion_id, r.value.error_count) for r in records] == [
        (nina.encode(), f"{nina}:{CLASS}:nina-failure", 1)
    ]
    assert [
        (m.canonical_id, m.solved_count, m.last_solved_at, m.orbit_level) for m in records[0].value.mentors
    ] == [(ivy, 1, ev.at(1), 1)]


def test_a_matcher_killed_while_a_record_waits_applies_each_record_once_after_restart(
    pipeline_factory,
) -> None:
    """The waiting record holds the commit, so the restarted matcher reads it again, and the
    record applied before the kill (read again too, after it) is not applied twice."""
    pipeline = pipeline_factory(partitions=2, mentors={**MENTORS, "pattern_count": 1})
    [worker] = pipeline.start_workers(1)
    send, help_topic, solutions_topic = matcher_inputs(pipeline)

    def answer(sender: int, who: str, hours: float, offset: int) -> Solution:
        at = to_ms(ev.at(hours))
        return Solution(
            error_class=CLASS,
            solver_canonical_id=who,
            solved_at_ms=at,
            sender=sender,
            tag=at,
            origin=f"community-events:{sender}",
            origin_offset=offset,
        )

    def clocks(topic: str, hours: float) -> None:
        send(topic, MentorClock(senders=[0, 1], at_ms=[to_ms(ev.at(hours))] * 2, idle=[False, False]))

    olga, ivy = (
        deterministic_canonical_id("email", "olga@gmail.com"),
        deterministic_canonical_id("github", "ivy"),
    )
    send(solutions_topic, answer(0, olga, 3, 1))  # waits: join partition 1 is only at 1 h
    send(solutions_topic, answer(1, ivy, 1, 1))  # applied
    clocks(help_topic, 3)
    changelog = f"{pipeline.group_id}-solvers-changelog"
    assert len(read_topic(pipeline.settings, None, changelog, expect=1, timeout=60)) == 1
    time.sleep(3)  # commits happen meanwhile (every second), none past olga's answer
    worker.kill()  # SIGKILL: nothing flushed, nothing committed on the way out
    pipeline.start_workers(1)
    # Read again after the restart: olga's answer, which waits again, and ivy's, applied
    # before the kill. Both join partitions move on; nina fails at 5 h.
    clocks(solutions_topic, 4)
    nina = deterministic_canonical_id("email", "nina@acme.io")
    failed = to_ms(ev.at(5))
    send(
        help_topic,
        HelpRequest(
            canonical_id=nina,
            error_class=CLASS,
            event_id="nina-failure",
            occurred_at_ms=failed,
            sent_at_ms=None,
            sender=1,
            tag=failed,
            origin="product-events:1",
            origin_offset=9,
        ),
    )
    clocks(solutions_topic, 6)
    clocks(help_topic, 6)
    # The killed member holds its partitions until its session times out.
    records = pipeline.read(MENTOR_SUGGESTIONS, expect=1, settle=3.0, timeout=120)
    assert len(records) == 1
    assert sorted(
        (m.canonical_id, m.solved_count, m.last_solved_at) for m in records[0].value.mentors
    ) == sorted([(olga, 1, ev.at(3)), (ivy, 1, ev.at(1))])
