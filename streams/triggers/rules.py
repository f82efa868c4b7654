"""Churn-risk rules. Each returns the episodes that are at risk now; the caller fires an
episode once (when it first appears) and re-arms it when it is no longer at risk.

Episode keys are stable (reason, plus the question for unanswered questions), and an
episode's start is the event time the risk began, so replays fire the same triggers.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.settings import TriggerSettings
from schemas.models import ChurnReason
from streams.state import DAY_MS, HOUR_MS, UserState, active_days, count_between


@dataclass(frozen=True)
class Risk:
    key: str
    reason: ChurnReason
    started_ms: int
    evidence: dict[str, str]


def usage_drop(state: UserState, now_ms: int, cfg: TriggerSettings) -> tuple[Risk | None, bool]:
    """(risk, recovered): recent product use far below the user's own baseline."""
    today = now_ms // DAY_MS
    recent_first = today - cfg.usage_recent_days + 1
    base_first = recent_first - cfg.usage_baseline_days
    if state.first_seen_ms // DAY_MS > base_first:
        return None, False  # not enough history for a baseline
    baseline = count_between(state.product_days, base_first, recent_first - 1) / cfg.usage_baseline_days
    if baseline < cfg.usage_min_baseline_per_day:
        return None, False
    recent = count_between(state.product_days, recent_first, today) / cfg.usage_recent_days
    if recent < cfg.usage_drop_ratio * baseline:
        evidence = {
            "baseline_per_day": f"{baseline:.2f}",
            "recent_per_day": f"{recent:.2f}",
            "recent_days": str(cfg.usage_recent_days),
        }
        # The episode starts the day after the last active day before the quiet stretch: a
        # property of the data, so a due-time judgement and the user's own return agree on it.
        before = [d for d, n in state.product_days.items() if n > 0 and d < recent_first]
        start_day = max(before) + 1 if before else recent_first
        return Risk(
            episode_key(ChurnReason.USAGE_DROP), ChurnReason.USAGE_DROP, start_day * DAY_MS, evidence
        ), False
    return None, recent >= cfg.usage_recover_ratio * baseline


def api_errors(state: UserState, cfg: TriggerSettings) -> Risk | None:
    if state.api_error_streak < cfg.api_error_streak or state.api_streak_started_ms is None:
        return None
    evidence = {
        "failed_calls_in_a_row": str(state.api_error_streak),
        "last_error_class": state.last_error_class or "",
    }
    return Risk(
        episode_key(ChurnReason.API_ERRORS), ChurnReason.API_ERRORS, state.api_streak_started_ms, evidence
    )


def unanswered_questions(state: UserState, now_ms: int, cfg: TriggerSettings) -> list[Risk]:
    limit = cfg.question_unanswered_hours * HOUR_MS
    return [
        Risk(
            episode_key(ChurnReason.QUESTION_UNANSWERED, post),
            ChurnReason.QUESTION_UNANSWERED,
            asked,
            {"post_id": post, "hours_unanswered": f"{(now_ms - asked) / HOUR_MS:.1f}"},
        )
        for post, asked in sorted(state.open_questions.items())
        if now_ms - asked >= limit
    ]


def member_silent(state: UserState, now_ms: int, cfg: TriggerSettings) -> Risk | None:
    if not state.is_member or state.is_teammate or state.last_community_ms is None:
        return None
    silent_for = now_ms - state.last_community_ms
    if silent_for < cfg.silence_days * DAY_MS:
        return None
    # "Active" is judged over the 30 days before the silence began.
    active = active_days(state.community_days, state.last_community_ms, 30)
    if active < cfg.silence_min_active_days:
        return None
    evidence = {"silent_days": f"{silent_for / DAY_MS:.1f}", "active_days_before": str(active)}
    return Risk(
        episode_key(ChurnReason.MEMBER_SILENT), ChurnReason.MEMBER_SILENT, state.last_community_ms, evidence
    )


def onboarding_stalled(state: UserState, now_ms: int, cfg: TriggerSettings) -> Risk | None:
    if state.signup_ms is None:
        return None
    complete = state.onboarding_total is not None and state.onboarding_step >= state.onboarding_total
    if complete or now_ms - state.signup_ms < cfg.onboarding_days * DAY_MS:
        return None
    evidence = {
        "steps_done": str(state.onboarding_step),
        "steps_total": str(state.onboarding_total or "unknown"),
    }
    return Risk(
        episode_key(ChurnReason.ONBOARDING_STALLED), ChurnReason.ONBOARDING_STALLED, state.signup_ms, evidence
    )


# Which risks each kind of input may judge. An event only judges what is built from its
# own input, at its own event time: that input's earlier events of the user are on the
# same partition, in order, so the state is complete up to that time. What mixes inputs
# (signup vs onboarding steps) or users (answers) waits for the user's due time, judged
# once every input has passed it (activity/agents.py).
SCOPES: dict[str, frozenset[ChurnReason]] = {
    "product": frozenset({ChurnReason.API_ERRORS, ChurnReason.USAGE_DROP}),
    "community": frozenset({ChurnReason.MEMBER_SILENT}),
    "due": frozenset(
        {
            ChurnReason.API_ERRORS,
            ChurnReason.USAGE_DROP,
            ChurnReason.MEMBER_SILENT,
            ChurnReason.ONBOARDING_STALLED,
            ChurnReason.QUESTION_UNANSWERED,
        }
    ),
}


def episode_key(reason: ChurnReason, detail: str | None = None) -> str:
    """The key of one risk episode in ``UserState.episodes``: the reason, and what it is about
    when a user can have several at once (``QUESTION_UNANSWERED:<post id>``)."""
    return reason.value if detail is None else f"{reason.value}:{detail}"


def rule_of(key: str) -> ChurnReason:
    """The reason (rule) an episode key belongs to."""
    return ChurnReason(key.split(":", 1)[0])


def at_risk(
    state: UserState, now_ms: int, cfg: TriggerSettings, *, scope: str
) -> tuple[list[Risk], set[str]]:
    """Risks of the rules in ``scope`` open at ``now_ms``, and the episode keys that recovered."""
    rules = SCOPES[scope]
    risks: list[Risk] = []
    recovered: set[str] = set()
    if ChurnReason.USAGE_DROP in rules:
        drop, drop_recovered = usage_drop(state, now_ms, cfg)
        if drop is not None:
            risks.append(drop)
        elif drop_recovered:
            recovered.add(episode_key(ChurnReason.USAGE_DROP))
    candidates = [
        api_errors(state, cfg) if ChurnReason.API_ERRORS in rules else None,
        member_silent(state, now_ms, cfg) if ChurnReason.MEMBER_SILENT in rules else None,
        onboarding_stalled(state, now_ms, cfg) if ChurnReason.ONBOARDING_STALLED in rules else None,
    ]
    risks.extend(r for r in candidates if r is not None)
    if ChurnReason.QUESTION_UNANSWERED in rules:
        risks.extend(unanswered_questions(state, now_ms, cfg))
    return risks, recovered
