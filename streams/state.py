"""One user's state in the ``users`` table: bounded, JSON-round-trippable, event-time only."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from schemas.models import AccountHealth, ChurnRiskTrigger, EngagementScoreUpdate

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# Day buckets older than this are dropped: the longest window any rule looks at is 90 days.
KEEP_DAYS = 100
MAX_RECENT_WEIGHTS = 64
MAX_OPEN_QUESTIONS = 32
# Re-sent events (same event_id, a new offset) are recognised among this many recent ones.
MAX_RECENT_EVENT_IDS = 32


class Decayed(BaseModel):
    """A value that halves every half-life, known exactly at ``as_of_ms``."""

    model_config = ConfigDict(frozen=True)

    value: float = 0.0
    as_of_ms: int = 0


class UserState(BaseModel):
    model_config = ConfigDict(frozen=True)

    canonical_id: str
    is_member: bool = False
    is_teammate: bool = False
    first_seen_ms: int
    signup_ms: int | None = None
    last_event_ms: int = 0
    last_community_ms: int | None = None
    last_product_ms: int | None = None
    event_count: int = 0
    product: Decayed = Decayed()
    community: Decayed = Decayed()
    reach: Decayed = Decayed()
    orbit_level: int = 0
    # When the computed level first fell below the current one (hold before moving down).
    lower_since_ms: int | None = None
    # Day number (ms // DAY_MS) -> count, for presence and usage baselines.
    product_days: dict[int, int] = Field(default_factory=dict)
    community_days: dict[int, int] = Field(default_factory=dict)
    # (event time, Orbit activity weight) of recent community activities.
    recent_weights: list[tuple[int, int]] = Field(default_factory=list)
    api_error_streak: int = 0
    api_streak_started_ms: int | None = None
    last_error_class: str | None = None
    open_questions: dict[str, int] = Field(default_factory=dict)
    # Posts of this user that others replied to or answered (most recent last).
    answered_posts: list[str] = Field(default_factory=list)
    onboarding_step: int = 0
    onboarding_total: int | None = None
    # Open churn-risk episodes (already triggered): episode key -> start time.
    episodes: dict[str, int] = Field(default_factory=dict)
    # Merges already folded in (see merge.py): a redelivered merge changes nothing.
    merged: list[str] = Field(default_factory=list)
    # Set when this id's activity moved to the person it was linked to: a husk, not a user.
    merged_into: str | None = None
    # Merges whose place in the order was reached (an identity link's MERGE_EXPECT) but
    # whose activity has not arrived yet: until it has, this user's later entries wait.
    awaiting: list[str] = Field(default_factory=list)
    # Merged activity that arrived before its place in the order: merge id -> the old id's
    # state JSON ("": it had none), folded in when the order reaches it.
    early_merges: dict[str, str] = Field(default_factory=dict)
    # Idempotence under redelivery (activity/join.py): per input partition
    # ("topic:partition"), the offset of the last event folded in. One identity's events
    # arrive in order on one partition, so an event at or before it is a redelivery.
    applied: dict[str, int] = Field(default_factory=dict)
    # Event ids folded in lately: a service that re-sends an event counts it once.
    recent_event_ids: list[str] = Field(default_factory=list)
    # The event time the user's next judgement was last scheduled from (activity/schedule.py):
    # a due queue rebuilt after a restart holds the same due times as before it.
    due_from_ms: int | None = None
    # Per input partition, the offset of the last interaction with this user applied
    # (replies, mentions, reactions by others arrive in their source's order too).
    applied_interactions: dict[str, int] = Field(default_factory=dict)
    # Account facts (streams/accounts/): the current plan, the team (work email
    # domain), and what the last account-health output said, so it is emitted on change only.
    plan: str | None = None
    team: str | None = None
    health_key: str | None = None


@dataclass
class Progress:
    """How far a user's state has applied each input, while a batch is folded in."""

    applied: dict[str, int]
    recent_event_ids: list[str]

    @classmethod
    def of(cls, state: UserState | None) -> Progress:
        if state is None:
            return cls({}, [])
        return cls(dict(state.applied), list(state.recent_event_ids))

    def has(self, source: str, offset: int, event_id: str) -> bool:
        """Whether the event at ``offset`` of ``source`` (or an earlier copy of it) is applied."""
        last = self.applied.get(source)
        return (last is not None and offset <= last) or event_id in self.recent_event_ids

    def add(self, source: str, offset: int, event_id: str) -> None:
        self.applied[source] = max(offset, self.applied.get(source, -1))
        self.recent_event_ids.append(event_id)
        if len(self.recent_event_ids) > 2 * MAX_RECENT_EVENT_IDS:
            del self.recent_event_ids[:-MAX_RECENT_EVENT_IDS]

    def written_to(self, state: UserState) -> UserState:
        return state.model_copy(
            update={
                "applied": self.applied,
                "recent_event_ids": self.recent_event_ids[-MAX_RECENT_EVENT_IDS:],
            }
        )


def prune_days(days: dict[int, int], today: int) -> dict[int, int]:
    return {d: n for d, n in days.items() if d > today - KEEP_DAYS}


def bump_day(days: dict[int, int], at_ms: int) -> dict[int, int]:
    day = at_ms // DAY_MS
    updated = prune_days(days, max(day, max(days, default=day)))
    updated[day] = updated.get(day, 0) + 1
    return updated


def active_days(days: dict[int, int], now_ms: int, window_days: int) -> int:
    today = now_ms // DAY_MS
    return sum(1 for d, n in days.items() if n > 0 and today - window_days < d <= today)


def count_between(days: dict[int, int], first_day: int, last_day: int) -> int:
    return sum(n for d, n in days.items() if first_day <= d <= last_day)


@dataclass(frozen=True)
class StepResult:
    """What one step of a user's state emits (activity/process.py, then accounts/health.py)."""

    state: UserState
    score_update: EngagementScoreUpdate | None = None
    triggers: list[ChurnRiskTrigger] = field(default_factory=list)
    health: AccountHealth | None = None  # set by streams.accounts.health when it changed
