"""Folding an identity's activity from before its link into its person's state."""

from __future__ import annotations

from foundation.settings import StreamSettings
from streams.activity.merge import merge_states
from streams.scoring.engagement import decayed_to
from streams.state import DAY_MS, HOUR_MS, Decayed, UserState

CFG = StreamSettings()  # half-life 168 h
WEEK = 168 * HOUR_MS


def test_merge_adds_activity_as_if_one_user_all_along() -> None:
    person = UserState(
        canonical_id="p",
        first_seen_ms=2 * DAY_MS,
        signup_ms=2 * DAY_MS,
        last_event_ms=WEEK,
        last_product_ms=WEEK,
        event_count=3,
        product=Decayed(value=4.0, as_of_ms=WEEK),
        product_days={2: 1, 7: 2},
    )
    github = UserState(
        canonical_id="g",
        first_seen_ms=0,
        is_member=True,
        last_event_ms=0,
        last_community_ms=0,
        event_count=2,
        community=Decayed(value=6.0, as_of_ms=0),
        community_days={0: 2},
        recent_weights=[(0, 8)],
        open_questions={"q1": 0},
    )
    merged = merge_states(person, github, "p", "link-1:g", CFG)
    assert merged.canonical_id == "p"
    assert (merged.is_member, merged.first_seen_ms, merged.signup_ms) == (True, 0, 2 * DAY_MS)
    assert (merged.event_count, merged.last_event_ms, merged.last_community_ms) == (5, WEEK, 0)
    # Each component keeps its own as-of; the community score, a week older than the
    # person's latest event, counts half in the score emitted at that time.
    assert merged.community == Decayed(value=6.0, as_of_ms=0)
    assert decayed_to(merged.community, merged.last_event_ms, WEEK).value == 3.0
    assert merged.product == Decayed(value=4.0, as_of_ms=WEEK)
    assert merged.community_days == {0: 2} and merged.product_days == {2: 1, 7: 2}
    assert merged.open_questions == {"q1": 0}
    # An accepted answer (weight 8) a week ago puts the member in the inner orbit.
    assert merged.orbit_level == 1
    assert merged.merged == ["link-1:g"]


def test_a_merge_delivered_twice_counts_once() -> None:
    person = UserState(canonical_id="p", first_seen_ms=0, event_count=1)
    other = UserState(canonical_id="g", first_seen_ms=0, event_count=2)
    once = merge_states(person, other, "p", "m", CFG)
    assert merge_states(once, other, "p", "m", CFG) is once
    assert once.event_count == 3


def test_a_person_with_no_state_yet_takes_the_moved_state_under_its_own_id() -> None:
    other = UserState(canonical_id="g", first_seen_ms=5, event_count=2, is_member=True)
    merged = merge_states(None, other, "p", "m", CFG)
    assert (merged.canonical_id, merged.event_count, merged.is_member, merged.first_seen_ms) == (
        "p",
        2,
        True,
        5,
    )
