"""The mentor path through the worker on the real broker and warehouse: accepted answers
in, a failure pattern in, one suggestion out (on the topic and in ClickHouse), with the
mentors in order of preference and the reasons for each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.identity import deterministic_canonical_id
from schemas.topics import MENTOR_SUGGESTIONS
from sinks.migrate import apply_migrations
from sinks.runner import Sink
from tests.fixtures import events as ev
from tests.fixtures.streams import read_topic, send_events
from tests.integration.sinks.helpers import run_until

pytestmark = pytest.mark.integration

CLASS = "auth.invalid_token"
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
