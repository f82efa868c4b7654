"""Account health (docs/health.md): the formula with exact values, and when it is emitted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from foundation.account_settings import AccountSettings, HealthSettings
from foundation.settings import StreamSettings
from streams.accounts.facts import note_account, team_of
from streams.accounts.health import Health, after_event, after_tick, health_of
from streams.activity.process import StepResult, apply_event
from streams.state import DAY_MS, HOUR_MS, UserState
from streams.timeconv import to_ms
from tests.fixtures import events as ev

EMITTED = datetime(2030, 1, 1, tzinfo=UTC)
# Defaults spelled out, so the numbers below don't move with them.
CFG = StreamSettings.model_validate(
    {
        "triggers": {"usage_recent_days": 3, "usage_baseline_days": 14, "usage_min_baseline_per_day": 1.0},
        "health": {
            "usage_weight": 0.5,
            "community_weight": 0.2,
            "risk_weight": 0.3,
            "orbit_level_scores": (1.0, 0.75, 0.5, 0.25),
            "risk_penalty": 0.25,
            "expansion_usage_share": 0.8,
            "expansion_max_orbit_level": 2,
        },
        "accounts": {"plan_daily_event_limits": {"free": 20.0, "team": 1000.0}},
    }
)
NOW = 100 * DAY_MS + 12 * HOUR_MS  # day 100: recent window days 98..100, baseline 84..97


def _user(baseline_per_day: int, recent: dict[int, int], **update: object) -> UserState:
    days = {d: baseline_per_day for d in range(84, 98)}
    days.update(recent)
    state = UserState(canonical_id="u", first_seen_ms=80 * DAY_MS, product_days=days, last_event_ms=NOW)
    return state.model_copy(update=update)


def test_usage_against_own_baseline_orbit_level_and_one_open_risk() -> None:
    # baseline 28 / 14 = 2.0 a day; recent 3 / 3 = 1.0: usage 0.5. Level 2: 0.75.
    # One open episode: 1 - 0.25 = 0.75. Health 100 * (0.5*0.5 + 0.2*0.75 + 0.3*0.75) = 62.5.
    state = _user(2, {98: 1, 99: 1, 100: 1}, orbit_level=2, episodes={"API_ERRORS": 5}, plan="free")
    assert health_of(state, NOW, CFG) == Health(
        health=62.5,
        usage=0.5,
        community=0.75,
        risk=0.75,
        recent_per_day=1.0,
        baseline_per_day=2.0,
        orbit_level=2,
        open_risks=("API_ERRORS",),
        plan="free",
        plan_usage_share=0.05,  # 1.0 a day of 20
        expansion=False,
    )


def test_expansion_when_use_nears_the_plan_limit_in_an_inner_orbit_only() -> None:
    # 51 events in 3 days = 17 a day: 0.85 of the free plan's 20, above 0.8. Usage capped at 1.
    inner = _user(10, {98: 17, 99: 17, 100: 17}, orbit_level=1, plan="free")
    got = health_of(inner, NOW, CFG)
    assert (got.health, got.usage, got.plan_usage_share, got.expansion) == (100.0, 1.0, 0.85, True)
    outer = inner.model_copy(update={"orbit_level": 3})
    got = health_of(outer, NOW, CFG)
    # 100 * (0.5*1 + 0.2*0.5 + 0.3*1) = 90: same use, but level 3 is not inner.
    assert (got.health, got.community, got.expansion) == (90.0, 0.5, False)
    # A plan with no limit configured: no share, no signal.
    assert health_of(inner.model_copy(update={"plan": "enterprise"}), NOW, CFG).plan_usage_share is None
    assert health_of(inner.model_copy(update={"plan": "enterprise"}), NOW, CFG).expansion is False


def test_below_the_minimum_baseline_use_is_measured_against_the_minimum() -> None:
    # No baseline: 2 events in 3 days against 1.0 a day: usage 2/3. Outside the community: 0.
    state = UserState(canonical_id="u", first_seen_ms=99 * DAY_MS, product_days={99: 1, 100: 1})
    got = health_of(state, NOW, CFG)
    # 100 * (0.5 * 2/3 + 0 + 0.3 * 1) = 63.333.. -> 63.33
    assert (got.health, got.usage, got.community, got.baseline_per_day) == (63.33, 0.666667, 0.0, 0.0)


def test_risk_component_floors_at_zero_and_lists_risks_sorted() -> None:
    episodes = {"USAGE_DROP": 1, "API_ERRORS": 2, "MEMBER_SILENT": 3, "QUESTION_UNANSWERED:q1": 4, "X": 5}
    got = health_of(_user(1, {100: 3}, episodes=episodes), NOW, CFG)
    assert got.risk == 0.0
    assert got.open_risks == ("API_ERRORS", "MEMBER_SILENT", "QUESTION_UNANSWERED:q1", "USAGE_DROP", "X")
    # baseline 1.0, recent 1.0: usage 1; level 0; risk 0: 100 * 0.5 = 50.
    assert got.health == 50.0


def test_weights_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match="must be 1"):
        HealthSettings(usage_weight=0.5, community_weight=0.5, risk_weight=0.5)


def test_team_is_a_work_email_domain_and_plan_follows_plan_changes() -> None:
    accounts = AccountSettings()
    assert team_of(ev.email("Ada@Acme.io"), accounts) == "acme.io"
    assert team_of(ev.email("ada@gmail.com"), accounts) is None
    assert team_of(ev.product("ada"), accounts) is None
    state = UserState(canonical_id="u", first_seen_ms=0)
    state = note_account(
        state, ev.make("FeatureUsed", ev.email("a@zeta.com"), ev.at(0), feature="f"), accounts
    )
    # Of two work domains the alphabetically first: the same in whatever order they came.
    state = note_account(
        state, ev.make("FeatureUsed", ev.email("a@acme.io"), ev.at(1), feature="f"), accounts
    )
    state = note_account(
        state, ev.make("FeatureUsed", ev.email("a@zeta.com"), ev.at(2), feature="f"), accounts
    )
    assert state.team == "acme.io"
    signup = ev.make("PlanChanged", ev.product("u"), ev.at(3), change="SIGNUP", to_plan="free", mrr_cents=0)
    state = note_account(state, signup, accounts)
    assert state.plan == "free"
    cancel = ev.make("PlanChanged", ev.product("u"), ev.at(4), change="CANCEL", from_plan="free", mrr_cents=0)
    assert note_account(state, cancel, accounts).plan is None


def _used(user: object, hours: int, event_id: str) -> object:
    return ev.make("FeatureUsed", user, ev.at(hours), feature="f").model_copy(update={"event_id": event_id})


def _step(state: UserState | None, event: object) -> StepResult:
    result = apply_event(state, event, "u", CFG, emitted_at=EMITTED)  # type: ignore[arg-type]
    return after_event(result, event, CFG, EMITTED)  # type: ignore[arg-type]


def test_emitted_on_change_only_with_a_deterministic_id() -> None:
    user = ev.product("u")
    first = _used(user, 0, "e1")
    second = _used(user, 1, "e2")
    third = _used(user, 2, "e3")
    one = _step(None, first)
    assert one.health is not None
    # 1 event in 3 days against the minimum 1.0 a day: usage 1/3; no level; no risk.
    # 100 * (0.5/3 + 0.3) = 46.67
    assert (one.health.health_id, one.health.health, one.health.usage_component) == ("u:e1", 46.67, 0.333333)
    assert one.health.as_of == ev.at(0) and one.health.source_event_id == "e1"
    two = _step(one.state, second)
    assert two.health is not None and two.health.health == 63.33  # 2 events: usage 2/3
    three = _step(two.state, third)
    assert three.health is not None and three.health.health == 80.0  # 3 events: usage 1
    # A fourth the same day changes no component: nothing is emitted.
    fourth = _used(user, 3, "e4")
    assert _step(three.state, fourth).health is None
    # Replayed, the same events give the same ids and values.
    again = _step(None, first)
    assert again.health == one.health


def test_a_tick_emits_when_time_alone_changed_the_health() -> None:
    user = ev.product("u")
    one = _step(None, _used(user, 0, "e1"))
    now = to_ms(ev.at(days=3))  # the event has left the 3-day recent window: usage 0
    ticked = after_tick(StepResult(one.state), now, CFG, EMITTED)
    assert ticked.health is not None
    assert (ticked.health.health_id, ticked.health.health, ticked.health.source_event_id) == (
        f"u:tick:{now}",
        30.0,
        f"tick:{now}",
    )
    # The same tick again: no change, no output.
    assert after_tick(StepResult(ticked.state), now, CFG, EMITTED).health is None


def test_a_merge_keeps_the_plan_of_the_later_product_use_and_the_first_team() -> None:
    from streams.activity.merge import merge_states

    person = UserState(
        canonical_id="p", first_seen_ms=0, last_product_ms=DAY_MS, plan="free", team="zeta.com"
    )
    other = UserState(
        canonical_id="o", first_seen_ms=0, last_product_ms=2 * DAY_MS, plan="team", team="acme.io"
    )
    merged = merge_states(person, other, "p", "m1", CFG)
    assert (merged.plan, merged.team) == ("team", "acme.io")
    # The later user without a plan: the earlier one's plan stays.
    merged = merge_states(person, other.model_copy(update={"plan": None, "team": None}), "p", "m2", CFG)
    assert (merged.plan, merged.team) == ("free", "zeta.com")
