"""Pure scoring, orbit and trigger rules, with exact values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from foundation.settings import OrbitSettings, StreamSettings, TriggerSettings
from sinks.rows import Source, row_for
from streams.activity.process import StepResult, apply_event, apply_interaction, check_absence
from streams.scoring.engagement import add, decayed_to
from streams.scoring.orbit import computed_level, next_level
from streams.state import DAY_MS, HOUR_MS, Decayed, UserState
from streams.timeconv import to_ms
from streams.triggers.rules import api_errors, member_silent, onboarding_stalled, usage_drop
from tests.fixtures import events as ev

WEEK = 168 * HOUR_MS
EMITTED = datetime(2030, 1, 1, tzinfo=UTC)
CFG = StreamSettings()


def test_decay_halves_per_half_life_and_adds_exactly() -> None:
    score = add(Decayed(), 2.0, 0, WEEK)
    assert decayed_to(score, WEEK, WEEK).value == 1.0
    assert decayed_to(score, 2 * WEEK, WEEK).value == 0.5
    assert add(score, 2.0, WEEK, WEEK) == Decayed(value=3.0, as_of_ms=WEEK)


def test_late_event_adds_its_decayed_weight_and_never_moves_as_of_back() -> None:
    score = add(Decayed(), 2.0, WEEK, WEEK)
    late = add(score, 4.0, 0, WEEK)  # a week older than as_of: counts half
    assert late == Decayed(value=4.0, as_of_ms=WEEK)


def _member(**update: object) -> UserState:
    base = UserState(canonical_id="c", first_seen_ms=0, is_member=True)
    return base.model_copy(update=update)


@pytest.mark.parametrize(("weight", "level"), [(8, 1), (12, 1), (5, 2), (7, 2), (3, 3), (2, 4), (1, 4)])
def test_activity_weight_sets_the_level(weight: int, level: int) -> None:
    state = _member(recent_weights=[(DAY_MS, weight)])
    assert computed_level(state, 2 * DAY_MS, CFG.orbit) == level


def test_activity_outside_the_window_does_not_count() -> None:
    state = _member(recent_weights=[(0, 8)])
    assert computed_level(state, 31 * DAY_MS, CFG.orbit) == 4


@pytest.mark.parametrize(("days", "window", "level"), [(2, 7, 3), (7, 30, 2), (30, 90, 1), (1, 7, 4)])
def test_presence_milestones(days: int, window: int, level: int) -> None:
    now_day = 100
    active = {now_day - i * (window // days): 1 for i in range(days)}
    state = _member(community_days=active)
    assert computed_level(state, now_day * DAY_MS, CFG.orbit) == level


def test_teammates_and_non_members_have_no_level() -> None:
    assert computed_level(_member(is_teammate=True, recent_weights=[(0, 12)]), 1, CFG.orbit) == 0
    outsider = UserState(canonical_id="c", first_seen_ms=0, recent_weights=[(0, 12)])
    assert computed_level(outsider, 1, CFG.orbit) == 0


def test_up_at_once_down_only_after_the_hold() -> None:
    orbit = OrbitSettings(downgrade_hold_days=14)
    inner = _member(orbit_level=1, recent_weights=[(0, 8)])
    # Day 40: the answer left the window; the computed level is 4, but the hold starts.
    level, since = next_level(inner, 40 * DAY_MS, orbit)
    assert (level, since) == (1, 40 * DAY_MS)
    held = inner.model_copy(update={"lower_since_ms": since})
    assert next_level(held, 53 * DAY_MS, orbit) == (1, 40 * DAY_MS)
    assert next_level(held, 54 * DAY_MS, orbit) == (4, None)
    # Up again at once.
    assert next_level(_member(orbit_level=4, recent_weights=[(60 * DAY_MS, 8)]), 60 * DAY_MS, orbit) == (
        1,
        None,
    )


def test_usage_drop_against_own_baseline() -> None:
    cfg = TriggerSettings()
    busy = {d: 3 for d in range(0, 15)}
    state = UserState(canonical_id="c", first_seen_ms=0, product_days=busy)
    risk, _ = usage_drop(state, 17 * DAY_MS, cfg)  # days 15-17 empty
    assert risk is not None and risk.started_ms == 15 * DAY_MS
    assert risk.evidence == {"baseline_per_day": "3.00", "recent_per_day": "0.00", "recent_days": "3"}
    steady = state.model_copy(update={"product_days": {d: 3 for d in range(0, 18)}})
    assert usage_drop(steady, 17 * DAY_MS, cfg) == (None, True)
    new = UserState(canonical_id="c", first_seen_ms=10 * DAY_MS, product_days=busy)
    assert usage_drop(new, 17 * DAY_MS, cfg) == (None, False)  # no baseline yet


def test_api_errors_silence_and_onboarding_rules() -> None:
    cfg = TriggerSettings()
    assert (
        api_errors(
            UserState(canonical_id="c", first_seen_ms=0, api_error_streak=2, api_streak_started_ms=5), cfg
        )
        is None
    )
    risk = api_errors(
        UserState(canonical_id="c", first_seen_ms=0, api_error_streak=3, api_streak_started_ms=5), cfg
    )
    assert risk is not None and risk.started_ms == 5
    active = _member(last_community_ms=10 * DAY_MS, community_days={8: 1, 9: 1, 10: 1})
    assert member_silent(active, 23 * DAY_MS, cfg) is None
    assert member_silent(active, 24 * DAY_MS, cfg) is not None
    barely = active.model_copy(update={"community_days": {10: 1}})
    assert member_silent(barely, 40 * DAY_MS, cfg) is None  # never really active
    signed = UserState(canonical_id="c", first_seen_ms=0, signup_ms=0, onboarding_step=2, onboarding_total=4)
    assert onboarding_stalled(signed, 6 * DAY_MS, cfg) is None
    assert onboarding_stalled(signed, 7 * DAY_MS, cfg) is not None
    done = signed.model_copy(update={"onboarding_step": 4})
    assert onboarding_stalled(done, 30 * DAY_MS, cfg) is None


def test_api_error_trigger_fires_once_and_rearms_after_a_success() -> None:
    user = ev.product("u")
    calls = [("e", 0), ("e", 1), ("e", 2), ("e", 3), (None, 4), ("e", 5), ("e", 6), ("e", 7)]
    state, fired = None, []
    for error, hour in calls:
        event = ev.make(
            "ApiCall", user, ev.at(hour), endpoint="/x", status_code=500 if error else 200, error_class=error
        )
        result = apply_event(state, event, "c", CFG, EMITTED)
        state = result.state
        fired += [(t.reason.value, t.episode_started_at) for t in result.triggers]
    assert fired == [("API_ERRORS", ev.at(0)), ("API_ERRORS", ev.at(5))]


def test_answer_before_its_question_keeps_the_question_closed() -> None:
    state = apply_interaction(None, "c", "REPLY", ev.at(5), True, CFG, ref="q1")
    asked = ev.make(
        "PostCreated", ev.product("u"), ev.at(2), post_id="q1", channel="c", title="t", is_question=True
    )
    state = apply_event(state, asked, "c", CFG, EMITTED).state
    assert state.open_questions == {}
    assert check_absence(state, ev.at(100), CFG, EMITTED).triggers == []


def test_state_round_trips_as_json_and_stays_bounded() -> None:
    user, state = ev.product("u"), None
    for day in range(200):
        event = ev.make("ReactionAdded", user, ev.at(0, day), post_id="p", reaction="+1")
        state = apply_event(state, event, "c", CFG, EMITTED).state
    assert state is not None
    assert UserState.model_validate(state.model_dump(mode="json")) == state
    assert len(state.community_days) <= 100
    assert len(state.recent_weights) <= 64


def _question_then(*follow_ups: Any) -> StepResult:
    """A member asks q1 at hour 0; ``follow_ups`` are applied after it, in order."""
    asker = ev.product("asker")
    state = apply_event(
        None, ev.make("MemberJoined", asker, ev.at(-1), community="c"), "c-asker", CFG, EMITTED
    ).state
    asked = ev.make("PostCreated", asker, ev.at(0), post_id="q1", channel="c", title="t", is_question=True)
    result = apply_event(state, asked, "c-asker", CFG, EMITTED)
    for follow_up in follow_ups:
        result = follow_up(result.state)
    return result


def test_a_question_answered_only_by_its_author_is_still_unanswered_after_48_hours() -> None:
    asker = ev.product("asker")
    self_reply = ev.make("ReplyCreated", asker, ev.at(1), reply_id="r1", post_id="q1", post_author=asker)
    self_answer = ev.make("AnswerAccepted", asker, ev.at(2), post_id="q1", reply_id="r1", asker=asker)
    result = _question_then(
        lambda s: apply_event(s, self_reply, "c-asker", CFG, EMITTED),
        lambda s: apply_event(s, self_answer, "c-asker", CFG, EMITTED),
    )
    assert result.state.open_questions == {"q1": to_ms(ev.at(0))}
    fired = check_absence(result.state, ev.at(48), CFG, EMITTED).triggers
    assert [(t.trigger_id, t.reason.value, t.episode_started_at, t.evidence) for t in fired] == [
        (
            f"c-asker:QUESTION_UNANSWERED:q1:{to_ms(ev.at(0))}",
            "QUESTION_UNANSWERED",
            ev.at(0),
            {"post_id": "q1", "hours_unanswered": "48.0"},
        )
    ]


def test_a_reply_from_someone_else_answers_the_question() -> None:
    result = _question_then(
        lambda s: StepResult(apply_interaction(s, "c-asker", "REPLY", ev.at(1), True, CFG, ref="q1"))
    )
    assert result.state.open_questions == {}
    assert check_absence(result.state, ev.at(48), CFG, EMITTED).triggers == []


@pytest.mark.parametrize(("teammate", "member"), [(True, False), (False, True)])
def test_a_teammate_is_not_a_member_in_score_updates(teammate: bool, member: bool) -> None:
    joined = ev.make("MemberJoined", ev.product("u"), ev.at(0), community="c", is_teammate=teammate)
    update = apply_event(None, joined, "c", CFG, EMITTED).score_update
    assert update is not None
    assert (update.is_member, update.orbit_level, update.score) == (member, 0 if teammate else 4, 1.0)
    # What the sink writes to engagement_scores (and so engagement_latest) is that flag.
    table, row = row_for(update, Source("t-engagement-scores", 0, 0))
    assert (table, row["is_member"]) == ("engagement_scores", member)


def test_a_downgrade_judged_on_a_tick_is_published_as_a_score_update() -> None:
    user = ev.product("u")
    state = None
    for event in (
        ev.make("MemberJoined", user, ev.at(0), community="c"),
        ev.make("AnswerAccepted", user, ev.at(0), post_id="p", reply_id="r", tags=["x"]),
    ):
        state = apply_event(state, event, "c", CFG, EMITTED).state
    assert state is not None and state.orbit_level == 1
    # Day 40: the answer has left the 30-day window; the hold (14 days) starts, no change yet.
    held = check_absence(state, ev.at(0, 40), CFG, EMITTED)
    assert (held.state.orbit_level, held.score_update) == (1, None)
    # Day 54: the hold is over, the level drops to 4, and that is published.
    dropped = check_absence(held.state, ev.at(0, 54), CFG, EMITTED)
    tick_ms = to_ms(ev.at(0, 54))
    community = round(9.0 * 2 ** (-54 / 7), 6)  # weights 1 + 8, a 7-day half-life, 54 days on
    assert dropped.state.orbit_level == 4
    assert dropped.score_update is not None
    assert dropped.score_update.model_dump(exclude={"emitted_at"}) == {
        "update_id": f"c:level:{tick_ms}",
        "canonical_id": "c",
        "score": community,
        "product_score": 0.0,
        "community_score": community,
        "orbit_level": 4,
        "previous_orbit_level": 1,
        "reach": 0.0,
        "is_member": True,
        "event_count": 2,
        "as_of": ev.at(0, 54),
        "source_event_id": f"tick:{tick_ms}",
        "source_occurred_at": ev.at(0, 54),
        "source_sent_at": None,
    }
    # A later tick with no change publishes nothing.
    assert check_absence(dropped.state, ev.at(0, 55), CFG, EMITTED).score_update is None
