"""Account health (pure): product usage against the user's own baseline, community orbit
level and open churn risks, plus an expansion signal. The formula: docs/health.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from foundation.settings import StreamSettings
from schemas.models import AccountHealth, Event
from streams.accounts.facts import note_account
from streams.state import DAY_MS, StepResult, UserState
from streams.timeconv import from_ms, to_ms


class Health(NamedTuple):
    """The health of one user at one event time, with everything it was built from."""

    health: float
    usage: float
    community: float
    risk: float
    recent_per_day: float
    baseline_per_day: float
    orbit_level: int
    open_risks: tuple[str, ...]
    plan: str | None
    plan_usage_share: float | None
    expansion: bool

    def key(self) -> str:
        """What makes two healths the same output (per-day rates move with every event)."""
        risks = ",".join(self.open_risks)
        return (
            f"{self.health}|{self.usage}|{self.community}|{self.risk}|{self.orbit_level}|{risks}|"
            f"{self.plan}|{self.expansion}"
        )


def usage_rates(state: UserState, now_ms: int, cfg: StreamSettings) -> tuple[float, float]:
    """(recent, baseline) product events per day, on the usage-drop trigger's windows."""
    t = cfg.triggers
    today = now_ms // DAY_MS
    recent_first = today - t.usage_recent_days + 1
    base_first = recent_first - t.usage_baseline_days
    # One pass over the (at most 100) day buckets: this runs for every event.
    recent = baseline = 0
    for day, n in state.product_days.items():
        if recent_first <= day <= today:
            recent += n
        elif base_first <= day < recent_first:
            baseline += n
    return recent / t.usage_recent_days, baseline / t.usage_baseline_days


def health_of(state: UserState, now_ms: int, cfg: StreamSettings) -> Health:
    h = cfg.health
    recent, baseline = usage_rates(state, now_ms, cfg)
    # Below the minimum baseline (new or light users) use is measured against the minimum.
    usage = min(1.0, recent / max(baseline, cfg.triggers.usage_min_baseline_per_day))
    level = state.orbit_level
    community = h.orbit_level_scores[level - 1] if 1 <= level <= 4 else 0.0
    open_risks = tuple(sorted(state.episodes))
    risk = max(0.0, 1.0 - h.risk_penalty * len(open_risks))
    total = h.usage_weight * usage + h.community_weight * community + h.risk_weight * risk
    limit = cfg.accounts.plan_daily_event_limits.get(state.plan) if state.plan else None
    share = recent / limit if limit else None
    expansion = (
        share is not None and share >= h.expansion_usage_share and 1 <= level <= h.expansion_max_orbit_level
    )
    return Health(
        health=round(100 * total, 2),
        usage=round(usage, 6),
        community=round(community, 6),
        risk=round(risk, 6),
        recent_per_day=round(recent, 6),
        baseline_per_day=round(baseline, 6),
        orbit_level=level,
        open_risks=open_risks,
        plan=state.plan,
        plan_usage_share=None if share is None else round(share, 6),
        expansion=expansion,
    )


def _record(
    state: UserState,
    health: Health,
    now_ms: int,
    emitted_at: datetime,
    *,
    health_id: str,
    source_event_id: str,
    source_occurred_at: datetime,
    source_sent_at: datetime | None,
) -> AccountHealth:
    # Every field is already what the contract holds (times from events or whole
    # milliseconds), so no validation pass: it cost more than the rest of this step.
    return AccountHealth.model_construct(
        health_id=health_id,
        canonical_id=state.canonical_id,
        health=health.health,
        usage_component=health.usage,
        community_component=health.community,
        risk_component=health.risk,
        recent_per_day=health.recent_per_day,
        baseline_per_day=health.baseline_per_day,
        orbit_level=health.orbit_level,
        open_risks=list(health.open_risks),
        plan=health.plan,
        plan_usage_share=health.plan_usage_share,
        expansion_signal=health.expansion,
        as_of=from_ms(now_ms),
        source_event_id=source_event_id,
        source_occurred_at=source_occurred_at,
        source_sent_at=source_sent_at,
        emitted_at=from_ms(to_ms(emitted_at)),
    )


def after_event(result: StepResult, event: Event, cfg: StreamSettings, emitted_at: datetime) -> StepResult:
    """The join's step for one event, with the account facts noted and the health if it changed."""
    state = note_account(result.state, event, cfg.accounts)
    now_ms = state.last_event_ms
    health = health_of(state, now_ms, cfg)
    if health.key() == state.health_key:
        return result if state is result.state else StepResult(state, result.score_update, result.triggers)
    record = _record(
        state,
        health,
        now_ms,
        emitted_at,
        health_id=f"{state.canonical_id}:{event.event_id}",
        source_event_id=event.event_id,
        source_occurred_at=event.occurred_at,
        source_sent_at=event.sent_at,
    )
    keyed = state.model_copy(update={"health_key": health.key()})
    return StepResult(keyed, result.score_update, result.triggers, record)


def after_tick(result: StepResult, now_ms: int, cfg: StreamSettings, emitted_at: datetime) -> StepResult:
    """A due-time absence judgement, with the health at that event time if it changed (risks, level, time)."""
    state = result.state
    at_ms = max(now_ms, state.last_event_ms)
    health = health_of(state, at_ms, cfg)
    if health.key() == state.health_key or state.merged_into is not None:
        return result
    at = from_ms(at_ms)
    record = _record(
        state,
        health,
        at_ms,
        emitted_at,
        health_id=f"{state.canonical_id}:tick:{at_ms}",
        source_event_id=f"tick:{at_ms}",
        source_occurred_at=at,
        source_sent_at=None,
    )
    keyed = state.model_copy(update={"health_key": health.key()})
    return StepResult(keyed, result.score_update, result.triggers, record)
