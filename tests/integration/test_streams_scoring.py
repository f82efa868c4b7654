"""Scores, orbit levels, triggers, restart recovery and scale-out, on the real broker."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from schemas.identity import deterministic_canonical_id
from schemas.topics import CHURN_TRIGGERS, ENGAGEMENT_SCORES, RELATIONSHIP_EDGES
from tests.fixtures import events as ev
from tests.fixtures.streams import send_events

pytestmark = pytest.mark.integration

# Explicit so the expected numbers below don't move with the defaults.
STREAMS = {
    "scoring": {
        "half_life_hours": 168,
        "product_weights": {"FeatureUsed": 2.0, "SessionStarted": 1.0, "ApiCall": 1.0, "PlanChanged": 0.0},
        "community_weights": {
            "MemberJoined": 1.0,
            "ReactionAdded": 1.0,
            "AnswerAccepted": 8.0,
            "PostCreated": 3.0,
        },
    },
    "orbit": {
        "activity_weights": {"MemberJoined": 1, "ReactionAdded": 1, "PostCreated": 3, "AnswerAccepted": 8},
        "weight_thresholds": [8, 5, 3],
    },
}


def cid(uid: str) -> str:
    return deterministic_canonical_id("product", uid)


def scripted() -> list:
    """Four users: steady, light, a contributing member, an observing member."""
    steady, light = ev.product("steady"), ev.product("light")
    contributor, observer = ev.product("contributor"), ev.product("observer")
    return [
        ev.make("FeatureUsed", steady, ev.at(0), feature="a"),
        ev.make("FeatureUsed", light, ev.at(1), feature="a"),
        ev.make("MemberJoined", contributor, ev.at(2), community="forum"),
        ev.make("MemberJoined", observer, ev.at(3), community="forum"),
        ev.make("ReactionAdded", observer, ev.at(4), post_id="p1", reaction="+1"),
        ev.make("AnswerAccepted", contributor, ev.at(5), post_id="p2", reply_id="r2", tags=["x"]),
        # One half-life after the first: the first FeatureUsed counts half.
        ev.make("FeatureUsed", steady, ev.at(168), feature="b"),
    ]


def score_rows(records) -> dict[str, tuple]:
    """source event id -> (user, score, product, community, orbit level, event count)."""
    return {
        r.value.source_event_id: (
            r.value.canonical_id,
            round(r.value.score, 6),
            round(r.value.product_score, 6),
            round(r.value.community_score, 6),
            r.value.orbit_level,
            r.value.event_count,
        )
        for r in records
    }


def test_scores_decay_and_orbit_levels_have_exact_values(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=2, streams=STREAMS)
    pipeline.start_workers(1)
    events = scripted()
    send_events(pipeline.settings, events)
    got = score_rows(pipeline.read(ENGAGEMENT_SCORES, expect=len(events), settle=1.0))
    assert len(got) == len(events)
    ids = [e.event_id for e in events]
    assert got[ids[0]] == (cid("steady"), 2.0, 2.0, 0.0, 0, 1)
    assert got[ids[1]] == (cid("light"), 2.0, 2.0, 0.0, 0, 1)
    assert got[ids[2]] == (cid("contributor"), 1.0, 0.0, 1.0, 4, 1)  # joined: outer orbit
    assert got[ids[3]] == (cid("observer"), 1.0, 0.0, 1.0, 4, 1)
    reaction = 1.0 * 0.5 ** (1 / 168) + 1.0  # MemberJoined decayed one hour, plus the reaction
    assert got[ids[4]] == (cid("observer"), round(reaction, 6), 0.0, round(reaction, 6), 4, 2)
    answer = 1.0 * 0.5 ** (3 / 168) + 8.0
    assert got[ids[5]] == (
        cid("contributor"),
        round(answer, 6),
        0.0,
        round(answer, 6),
        1,
        2,
    )  # weight 8: inner
    # More activity scores higher; a week of decay halves the earlier activity.
    assert got[ids[6]] == (cid("steady"), 3.0, 3.0, 0.0, 0, 2)
    assert got[ids[6]][1] > got[ids[1]][1]


def _trigger_counts(pipeline, expect: int) -> Counter:
    records = pipeline.read(CHURN_TRIGGERS, expect=expect, settle=3.0, timeout=40)
    return Counter((r.value.canonical_id, r.value.reason.value) for r in records)


def test_each_trigger_fires_once_for_its_scenario_and_never_for_the_healthy_user(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=1, streams=STREAMS)
    pipeline.start_workers(1)
    erring, asker, quiet, newbie, healthy = (
        ev.product(u) for u in ("erring", "asker", "quiet", "newbie", "healthy")
    )
    helper = ev.product("helper")
    # First hours: questions, and the healthy user's question answered by the helper.
    opening = [
        ev.make("MemberJoined", healthy, ev.at(0), community="forum"),
        ev.make("MemberJoined", quiet, ev.at(0), community="forum"),
        ev.make("PostCreated", asker, ev.at(2), post_id="q1", channel="help", title="?", is_question=True),
        ev.make("PostCreated", healthy, ev.at(2), post_id="q2", channel="help", title="?", is_question=True),
        ev.make("ReplyCreated", helper, ev.at(5), reply_id="r", post_id="q2", post_author=healthy),
    ]
    send_events(pipeline.settings, opening)
    # The answer reaches the asker's state through another partition's hops, as it does live.
    assert len(pipeline.read(RELATIONSHIP_EDGES, expect=1)) == 1
    time.sleep(1.5)
    rest = []
    for day in range(21):  # the healthy user: steady use, errors always followed by a success
        rest.append(ev.make("FeatureUsed", healthy, ev.at(10, day), feature="a"))
        rest.append(
            ev.make("ApiCall", healthy, ev.at(11, day), endpoint="/x", status_code=500, error_class="e")
        )
        rest.append(ev.make("ApiCall", healthy, ev.at(12, day), endpoint="/x", status_code=200))
        rest.append(ev.make("ReactionAdded", healthy, ev.at(13, day), post_id="p", reaction="+1"))
    # Five failed calls in a row, no success: one API_ERRORS trigger, not five.
    rest += [
        ev.make("ApiCall", erring, ev.at(h), endpoint="/x", status_code=401, error_class="auth.invalid_token")
        for h in range(6, 11)
    ]
    # An active member (4 days) who then goes silent past 14 days.
    rest += [ev.make("ReactionAdded", quiet, ev.at(9, d), post_id="p", reaction="+1") for d in range(4)]
    # Signed up, did one onboarding step of four, never finished.
    rest.append(ev.make("PlanChanged", newbie, ev.at(7), change="SIGNUP", to_plan="free"))
    rest.append(ev.make("OnboardingStepCompleted", newbie, ev.at(8), step="s1", step_index=1, total_steps=4))
    rest.sort(key=lambda e: e.occurred_at)
    send_events(pipeline.settings, rest)
    counts = _trigger_counts(pipeline, expect=4)
    assert counts == Counter(
        {
            (cid("erring"), "API_ERRORS"): 1,
            (cid("asker"), "QUESTION_UNANSWERED"): 1,
            (cid("quiet"), "MEMBER_SILENT"): 1,
            (cid("newbie"), "ONBOARDING_STALLED"): 1,
        }
    )


def test_usage_drop_fires_once_per_episode_and_rearms_after_recovery(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=1, streams=STREAMS)
    pipeline.start_workers(1)
    user, clock = ev.product("dropper"), ev.product("clock")
    # Three uses a day for 15 days, nothing on days 15-18, back on days 19-23, then gone;
    # another user's sessions move event time on to day 27.
    script = [ev.make("FeatureUsed", user, ev.at(9 + h, d), feature="a") for d in range(15) for h in range(3)]
    script += [
        ev.make("FeatureUsed", user, ev.at(9 + h, d), feature="a") for d in range(19, 24) for h in range(3)
    ]
    script += [
        ev.make("SessionStarted", clock, ev.at(10, d), session_id="c", platform="web") for d in range(15, 28)
    ]
    script.sort(key=lambda e: e.occurred_at)
    send_events(pipeline.settings, script)
    records = pipeline.read(CHURN_TRIGGERS, expect=2, settle=3.0, timeout=40)
    drops = sorted(
        (r.value.episode_started_at, r.value.reason.value)
        for r in records
        if r.value.canonical_id == cid("dropper")
    )
    # Each episode starts the day after the last active day (days 15 and 24): the first is
    # caught by a tick or by the user's return on day 19, whichever comes first, the second
    # by event time alone; the recovery on days 19-23 re-arms in between.
    day = lambda n: datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=n)  # noqa: E731
    assert drops == [(day(15), "USAGE_DROP"), (day(24), "USAGE_DROP")]
    assert all(r.value.canonical_id != cid("clock") for r in records)


def test_state_survives_a_worker_restart(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=2, streams=STREAMS)
    [first] = pipeline.start_workers(1)
    user = ev.product("returning")
    before = ev.make("FeatureUsed", user, ev.at(0), feature="a")
    send_events(pipeline.settings, [before])
    assert len(pipeline.read(ENGAGEMENT_SCORES, expect=1)) == 1
    first.stop()
    pipeline.start_workers(1)
    after = ev.make("FeatureUsed", user, ev.at(168), feature="a")
    send_events(pipeline.settings, [after])
    got = score_rows(pipeline.read(ENGAGEMENT_SCORES, expect=2))
    assert got[after.event_id] == (cid("returning"), 3.0, 3.0, 0.0, 0, 2)  # continued, not reset


def test_two_workers_split_partitions_and_agree_with_one(pipeline_factory) -> None:
    events = scripted()
    results = []
    for workers in (1, 2):
        pipeline = pipeline_factory(partitions=4, streams=STREAMS)
        procs = pipeline.start_workers(workers)
        send_events(pipeline.settings, events)
        records = pipeline.read(ENGAGEMENT_SCORES, expect=len(events), settle=1.0)
        results.append(score_rows(records))
        assert all(p.alive() for p in procs)
    one, two = results
    assert len(one) == len(events)
    assert two == one


def test_activity_from_before_a_link_moves_to_the_person(pipeline_factory) -> None:
    pipeline = pipeline_factory(partitions=2, streams=STREAMS)
    pipeline.start_workers(1)
    person, github = ev.product("linda"), ev.github("lindacodes")
    # Joined the forum and answered with GitHub before connecting it: that activity is
    # scored under the GitHub identity's own deterministic id at first.
    before = [
        ev.make("FeatureUsed", person, ev.at(0), feature="a"),
        ev.make("MemberJoined", github, ev.at(1), community="forum"),
        ev.make("AnswerAccepted", github, ev.at(2), post_id="q", reply_id="r", tags=["x"]),
    ]
    send_events(pipeline.settings, before)
    assert len(pipeline.read(ENGAGEMENT_SCORES, expect=3)) == 3
    link = ev.link(person, github, ev.at(3))
    send_events(pipeline.settings, [link])
    old = deterministic_canonical_id("github", "lindacodes")
    merge_id = f"{cid('linda')}:merge:{link.event_id}:{old}"
    scores = {r.value.update_id: r.value for r in pipeline.read(ENGAGEMENT_SCORES, expect=5)}
    merged = scores[merge_id]
    h = 168  # half-life in hours; as of the latest event (2 h)
    assert merged.canonical_id == cid("linda")
    assert (merged.is_member, merged.event_count, merged.orbit_level) == (True, 3, 1)
    assert merged.product_score == round(2.0 * 0.5 ** (2 / h), 6)
    assert merged.community_score == round(1.0 * 0.5 ** (1 / h) + 8.0, 6)
    # The GitHub identity's own id says it is gone, so analysts don't count it as a member.
    husk = scores[f"{old}:merged-into:{link.event_id}:{old}"]
    assert (husk.canonical_id, husk.score, husk.orbit_level, husk.is_member) == (old, 0.0, 0, False)
    assert husk.previous_orbit_level == 1
    # The person's next event carries on from the merged state.
    later = ev.make("FeatureUsed", person, ev.at(4), feature="b")
    send_events(pipeline.settings, [later])
    got = score_rows(pipeline.read(ENGAGEMENT_SCORES, expect=6, settle=2.0))
    community = (1.0 * 0.5 ** (1 / h) + 8.0) * 0.5 ** (2 / h)
    product = 2.0 * 0.5 ** (4 / h) + 2.0
    expected = (round(product + community, 6), round(product, 6), round(community, 6))
    assert got[later.event_id] == (cid("linda"), *expected, 1, 4)
    # One merge, however often the signals were delivered.
    assert sum(1 for r in pipeline.read(ENGAGEMENT_SCORES, expect=6) if ":merge:" in r.value.update_id) == 1
