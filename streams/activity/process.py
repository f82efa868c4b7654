"""The per-user step: an event (or a signal) in, the new state and what to emit out.

Pure and deterministic: event time comes from the events, the wall clock only as the
``emitted_at`` the caller passes for latency measurement.
"""

from __future__ import annotations

from datetime import datetime

from foundation.settings import StreamSettings
from schemas.models import (
    ApiCall,
    ChurnRiskTrigger,
    EngagementScoreUpdate,
    Event,
    MemberJoined,
    OnboardingStepCompleted,
    PlanChange,
    PlanChanged,
    PostCreated,
)
from streams.scoring.engagement import add, decayed_to
from streams.scoring.orbit import next_level
from streams.state import (
    DAY_MS,
    HOUR_MS,
    MAX_OPEN_QUESTIONS,
    MAX_RECENT_WEIGHTS,
    StepResult,
    UserState,
    bump_day,
)
from streams.timeconv import from_ms, to_ms
from streams.triggers.rules import SCOPES, Risk, at_risk, rule_of

COMMUNITY_NAMESPACE = "orbitstream.community"


def _is_community(event: Event) -> bool:
    return event.avro_name.startswith(COMMUNITY_NAMESPACE)


def _record(state: UserState, event: Event, cfg: StreamSettings) -> UserState:
    """Fold the event into the state (everything but orbit level and triggers)."""
    at = to_ms(event.occurred_at)
    name = type(event).__name__
    half_life = cfg.scoring.half_life_hours * HOUR_MS
    update: dict[str, object] = {
        "event_count": state.event_count + 1,
        "last_event_ms": max(state.last_event_ms, at),
    }
    if _is_community(event):
        weight = cfg.scoring.community_weights.get(name, 0.0)
        update["community"] = add(state.community, weight, at, half_life)
        update["community_days"] = bump_day(state.community_days, at)
        update["last_community_ms"] = max(state.last_community_ms or 0, at)
        orbit_weight = cfg.orbit.activity_weights.get(name, 0)
        if orbit_weight:
            update["recent_weights"] = sorted([*state.recent_weights, (at, orbit_weight)])[
                -MAX_RECENT_WEIGHTS:
            ]
        if isinstance(event, MemberJoined):
            update["is_member"] = True
            update["is_teammate"] = state.is_teammate or event.payload.is_teammate
        answered = event.payload.post_id in state.answered_posts if isinstance(event, PostCreated) else False
        if isinstance(event, PostCreated) and event.payload.is_question and not answered:
            questions = {**state.open_questions, event.payload.post_id: at}
            update["open_questions"] = dict(
                sorted(questions.items(), key=lambda kv: kv[1])[-MAX_OPEN_QUESTIONS:]
            )
        if isinstance(event, OnboardingStepCompleted):
            update["onboarding_step"] = max(state.onboarding_step, event.payload.step_index)
            update["onboarding_total"] = event.payload.total_steps
    else:
        weight = cfg.scoring.product_weights.get(name, 0.0)
        if isinstance(event, ApiCall) and event.payload.error_class is not None:
            weight = cfg.scoring.failed_api_call_weight
            update["api_error_streak"] = state.api_error_streak + 1
            update["api_streak_started_ms"] = state.api_streak_started_ms or at
            update["last_error_class"] = event.payload.error_class
        elif isinstance(event, ApiCall):
            update["api_error_streak"] = 0
            update["api_streak_started_ms"] = None
        if isinstance(event, PlanChanged) and event.payload.change is PlanChange.SIGNUP:
            update["signup_ms"] = at if state.signup_ms is None else min(state.signup_ms, at)
        update["last_product_ms"] = max(state.last_product_ms or 0, at)
        update["product"] = add(state.product, weight, at, half_life)
        update["product_days"] = bump_day(state.product_days, at)
    return state.model_copy(update=update)


def _level(state: UserState, now_ms: int, cfg: StreamSettings) -> UserState:
    level, lower_since = next_level(state, now_ms, cfg.orbit)
    return state.model_copy(update={"orbit_level": level, "lower_since_ms": lower_since})


def _triggers(
    state: UserState,
    now_ms: int,
    cfg: StreamSettings,
    source: Event | None,
    emitted_at: datetime,
    *,
    scope: str,
) -> tuple[UserState, list[ChurnRiskTrigger]]:
    """Fire each new episode once; re-arm the ones that recovered (only rules in ``scope``)."""
    risks, recovered = at_risk(state, now_ms, cfg.triggers, scope=scope)
    open_keys = {r.key for r in risks}
    judged = SCOPES[scope]
    episodes = {
        k: v
        for k, v in state.episodes.items()
        if rule_of(k) not in judged or (k not in recovered and (k == "USAGE_DROP" or k in open_keys))
    }
    fired: list[ChurnRiskTrigger] = []
    for risk in risks:
        if risk.key in episodes:
            continue  # one trigger per episode: no storms
        episodes[risk.key] = risk.started_ms
        fired.append(_trigger(state.canonical_id, risk, now_ms, source, emitted_at))
    return state.model_copy(update={"episodes": episodes}), fired


def _trigger(
    canonical_id: str, risk: Risk, now_ms: int, source: Event | None, emitted_at: datetime
) -> ChurnRiskTrigger:
    fired_at = from_ms(now_ms)
    return ChurnRiskTrigger(
        trigger_id=f"{canonical_id}:{risk.key}:{risk.started_ms}",
        canonical_id=canonical_id,
        reason=risk.reason,
        evidence=risk.evidence,
        episode_started_at=from_ms(risk.started_ms),
        fired_at=fired_at,
        source_event_id=source.event_id if source is not None else f"tick:{now_ms}",
        source_occurred_at=source.occurred_at if source is not None else fired_at,
        source_sent_at=source.sent_at if source is not None else None,
        emitted_at=emitted_at,
    )


def score_update(
    state: UserState,
    previous_level: int,
    cfg: StreamSettings,
    emitted_at: datetime,
    *,
    update_id: str,
    source_event_id: str,
    source_occurred_at: datetime,
    source_sent_at: datetime | None,
    as_of_ms: int | None = None,
) -> EngagementScoreUpdate:
    """The user's score, decayed to ``as_of_ms`` (default: their latest event), as an output record."""
    half_life = cfg.scoring.half_life_hours * HOUR_MS
    now = state.last_event_ms if as_of_ms is None else max(as_of_ms, state.last_event_ms)
    product = decayed_to(state.product, now, half_life).value
    community = decayed_to(state.community, now, half_life).value
    reach = decayed_to(state.reach, now, cfg.orbit.reach_half_life_days * DAY_MS).value
    # Every field is already what the contract holds (times from events or whole
    # milliseconds), so the record is built without a validation pass (a quarter of the
    # per-event step's CPU); the emission time is cut to milliseconds as validation would.
    return EngagementScoreUpdate.model_construct(
        update_id=update_id,
        canonical_id=state.canonical_id,
        score=round(product + community, 6),
        product_score=round(product, 6),
        community_score=round(community, 6),
        orbit_level=state.orbit_level,
        previous_orbit_level=previous_level,
        reach=round(reach, 6),
        is_member=is_member(state),
        event_count=state.event_count,
        as_of=from_ms(now),
        source_event_id=source_event_id,
        source_occurred_at=source_occurred_at,
        source_sent_at=source_sent_at,
        emitted_at=from_ms(to_ms(emitted_at)),
    )


def apply_event(
    state: UserState | None, event: Event, canonical_id: str, cfg: StreamSettings, emitted_at: datetime
) -> StepResult:
    """Fold one product or community event into the user's state."""
    at = to_ms(event.occurred_at)
    current = state or UserState(canonical_id=canonical_id, first_seen_ms=at)
    previous_level = current.orbit_level
    # Late within its own input: the other input may legitimately be read ahead of it.
    own_latest = current.last_community_ms if _is_community(event) else current.last_product_ms
    late = own_latest is not None and at < own_latest
    # A reply or answer by the asker on their own question leaves it open: only someone
    # else's (an interaction signal, apply_interaction) answers it (docs/scoring.md).
    updated = _record(current, event, cfg)
    now = updated.last_event_ms
    updated = _level(updated, now, cfg)
    # A late event counts in the score but neither fires nor re-arms a trigger. Others are
    # judged at their own time, on the rules of their own input (see triggers.rules.SCOPES).
    triggers: list[ChurnRiskTrigger] = []
    if not late:
        scope = "community" if _is_community(event) else "product"
        updated, triggers = _triggers(updated, at, cfg, event, emitted_at, scope=scope)
    update = score_update(
        updated,
        previous_level,
        cfg,
        emitted_at,
        update_id=f"{updated.canonical_id}:{event.event_id}",
        source_event_id=event.event_id,
        source_occurred_at=event.occurred_at,
        source_sent_at=event.sent_at,
    )
    return StepResult(updated, update, triggers)


def apply_interaction(
    state: UserState | None,
    canonical_id: str,
    kind: str,
    at: datetime,
    direct: bool,
    cfg: StreamSettings,
    ref: str | None = None,
) -> UserState:
    """Someone interacted with this user: reach grows; a reply/answer to an open question closes it."""
    at_ms = to_ms(at)
    current = state or UserState(canonical_id=canonical_id, first_seen_ms=at_ms)
    weight = 1.0 if direct and kind != "REACTION" else cfg.orbit.indirect_reach_weight
    reach = add(current.reach, weight, at_ms, cfg.orbit.reach_half_life_days * DAY_MS)
    update: dict[str, object] = {"reach": reach}
    if ref is not None and kind in ("REPLY", "ANSWER"):
        # Remembered too: the answer may be processed before the question it answers.
        update["open_questions"] = {k: v for k, v in current.open_questions.items() if k != ref}
        update["answered_posts"] = [*[p for p in current.answered_posts if p != ref], ref][
            -MAX_OPEN_QUESTIONS:
        ]
    return current.model_copy(update=update)


def is_member(state: UserState) -> bool:
    """A member as analysts count them: joined the community and not a teammate (staff)."""
    return state.is_member and not state.is_teammate


def check_absence(state: UserState, now: datetime, cfg: StreamSettings, emitted_at: datetime) -> StepResult:
    """Absence triggers at event time ``now`` (a partition's watermark), and level holds.

    A level that changes here (a downgrade once the hold is over) is published as a score
    update as of ``now``, so it is the user's latest in the warehouse; without one it would
    only show with the user's next event, or never for a user who left.
    """
    now_ms = max(to_ms(now), state.last_event_ms)
    updated = _level(state, now_ms, cfg)
    updated, triggers = _triggers(updated, now_ms, cfg, None, emitted_at, scope="due")
    update = None
    if updated.orbit_level != state.orbit_level:
        at = from_ms(now_ms)
        update = score_update(
            updated,
            state.orbit_level,
            cfg,
            emitted_at,
            update_id=f"{updated.canonical_id}:level:{now_ms}",
            source_event_id=f"tick:{now_ms}",
            source_occurred_at=at,
            source_sent_at=None,
            as_of_ms=now_ms,
        )
    return StepResult(updated, update, triggers)
