"""Folding the activity one identity had before it was linked into its person's state.

An identity with no link resolves to its own deterministic canonical id, so a member who
joined the forum with a GitHub account before connecting it to the product account has
community activity under another id. When a link assigns that identity to its person,
the worker moves the state it built under the old id into the person's (PostHog merges
persons the same way). Pure: the agents do the moving (activity/agents.py).
"""

from __future__ import annotations

from foundation.settings import StreamSettings
from streams.scoring.engagement import decayed_to
from streams.scoring.orbit import next_level
from streams.state import (
    DAY_MS,
    HOUR_MS,
    MAX_OPEN_QUESTIONS,
    MAX_RECENT_EVENT_IDS,
    MAX_RECENT_WEIGHTS,
    Decayed,
    UserState,
    prune_days,
)

MAX_MERGES_REMEMBERED = 16


def _sum_decayed(a: Decayed, b: Decayed, half_life_ms: float) -> Decayed:
    at = max(a.as_of_ms, b.as_of_ms)
    return Decayed(
        value=decayed_to(a, at, half_life_ms).value + decayed_to(b, at, half_life_ms).value, as_of_ms=at
    )


def _max_or_none(a: int | None, b: int | None) -> int | None:
    return max(a, b) if a is not None and b is not None else (a if a is not None else b)


def _min_or_none(a: int | None, b: int | None) -> int | None:
    return min(a, b) if a is not None and b is not None else (a if a is not None else b)


def _sum_days(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    merged = dict(a)
    for day, n in b.items():
        merged[day] = merged.get(day, 0) + n
    return prune_days(merged, max(merged, default=0))


def merge_states(
    person: UserState | None, other: UserState, canonical_id: str, merge_id: str, cfg: StreamSettings
) -> UserState:
    """``person`` with ``other``'s activity added, as if both had been one user all along.

    Idempotent per ``merge_id``: at-least-once delivery may bring the same merge twice.
    """
    if person is not None and merge_id in person.merged:
        return person
    base = person or UserState(canonical_id=canonical_id, first_seen_ms=other.first_seen_ms)
    half_life = cfg.scoring.half_life_hours * HOUR_MS
    later_product = (other.last_product_ms or 0) > (base.last_product_ms or 0)
    streak_from = other if later_product else base
    answered = [*base.answered_posts, *(p for p in other.answered_posts if p not in base.answered_posts)]
    questions = {
        post: at
        for post, at in sorted({**base.open_questions, **other.open_questions}.items(), key=lambda kv: kv[1])
        if post not in answered
    }
    episodes = dict(other.episodes)
    for key, started in base.episodes.items():
        episodes[key] = min(started, episodes.get(key, started))
    merged = base.model_copy(
        update={
            "is_member": base.is_member or other.is_member,
            "is_teammate": base.is_teammate or other.is_teammate,
            "first_seen_ms": min(base.first_seen_ms, other.first_seen_ms),
            "signup_ms": _min_or_none(base.signup_ms, other.signup_ms),
            "last_event_ms": max(base.last_event_ms, other.last_event_ms),
            "last_community_ms": _max_or_none(base.last_community_ms, other.last_community_ms),
            "last_product_ms": _max_or_none(base.last_product_ms, other.last_product_ms),
            "event_count": base.event_count + other.event_count,
            "product": _sum_decayed(base.product, other.product, half_life),
            "community": _sum_decayed(base.community, other.community, half_life),
            "reach": _sum_decayed(base.reach, other.reach, cfg.orbit.reach_half_life_days * DAY_MS),
            # The closer orbit of the two; next_level below lets it fall only after the hold.
            "orbit_level": min((lv for lv in (base.orbit_level, other.orbit_level) if lv), default=0),
            "lower_since_ms": None,
            "product_days": _sum_days(base.product_days, other.product_days),
            "community_days": _sum_days(base.community_days, other.community_days),
            "recent_weights": sorted([*base.recent_weights, *other.recent_weights])[-MAX_RECENT_WEIGHTS:],
            "api_error_streak": streak_from.api_error_streak,
            "api_streak_started_ms": streak_from.api_streak_started_ms,
            "last_error_class": streak_from.last_error_class,
            "open_questions": dict(list(questions.items())[-MAX_OPEN_QUESTIONS:]),
            "answered_posts": answered[-MAX_OPEN_QUESTIONS:],
            "onboarding_step": max(base.onboarding_step, other.onboarding_step),
            "onboarding_total": base.onboarding_total or other.onboarding_total,
            "episodes": episodes,
            # Account facts (streams/accounts/facts.py): the plan of the later product use.
            "plan": streak_from.plan or (base if later_product else other).plan,
            "team": min((t for t in (base.team, other.team) if t), default=None),
            "merged": [*base.merged, merge_id][-MAX_MERGES_REMEMBERED:],
            # Both ids' inputs stay idempotent: a redelivered event of either is recognised.
            "applied": {
                source: max(offset, base.applied.get(source, -1))
                for source, offset in {**base.applied, **other.applied}.items()
            },
            "applied_interactions": {
                source: max(offset, base.applied_interactions.get(source, -1))
                for source, offset in {**base.applied_interactions, **other.applied_interactions}.items()
            },
            "recent_event_ids": [
                *[e for e in other.recent_event_ids if e not in base.recent_event_ids],
                *base.recent_event_ids,
            ][-MAX_RECENT_EVENT_IDS:],
        }
    )
    level, lower_since = next_level(merged, merged.last_event_ms, cfg.orbit)
    return merged.model_copy(update={"orbit_level": level, "lower_since_ms": lower_since})
