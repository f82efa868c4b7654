"""Typed result rows, one class per analysis; field names are the SQL's column names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class RetentionRow:
    """One signup cohort and segment (member / non-member) of ``retention.sql``."""

    cohort_week: date
    segment: str
    signups: int
    measured: int
    retained: int
    retention: float | None


@dataclass(frozen=True, slots=True)
class ChurnRow:
    """One period and segment of ``churn.sql``."""

    period_start: datetime
    segment: str
    active_before: int
    churned: int
    churn_rate: float


@dataclass(frozen=True, slots=True)
class DeflectionRow:
    """One period of ``support_deflection.sql``."""

    period_start: datetime
    community_resolved: int
    tickets_opened: int
    deflection: float | None


@dataclass(frozen=True, slots=True)
class FirstValueRow:
    """One segment of ``time_to_first_value.sql``."""

    segment: str
    signups: int
    reached_value: int
    reached_share: float
    median_hours: float | None
    mean_hours: float | None


@dataclass(frozen=True, slots=True)
class DensityRow:
    """One Orbit level of ``network_density.sql``."""

    orbit_level: int
    members: int
    connections: int
    density: float | None
    connections_per_member: float | None


@dataclass(frozen=True, slots=True)
class OrbitLevelCount:
    """Members at one level at one period end (``orbit_distribution.sql``)."""

    period_end: datetime
    orbit_level: int
    members: int


@dataclass(frozen=True, slots=True)
class GravityRow:
    """One period of ``gravity.sql``."""

    period_start: datetime
    period_end: datetime
    members: int
    weighted_commitment_start: float
    weighted_commitment_end: float
    gravity: float | None


@dataclass(frozen=True, slots=True)
class MovementRow:
    """Members starting a period at one level, and where they ended it (``orbit_movement.sql``)."""

    period_start: datetime
    from_level: int
    members: int
    moved_up: int
    held: int
    moved_down: int


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """One trigger reason of ``triggers.sql``."""

    reason: str
    triggers: int
    users: int
    users_came_back: int
    came_back_share: float


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """One period and segment of ``revenue.sql`` (money in cents)."""

    period_start: datetime
    segment: str
    customers: int
    mrr_start_cents: int
    new_mrr_cents: int
    expansion_mrr_cents: int
    contraction_mrr_cents: int
    churned_mrr_cents: int
    mrr_end_cents: int
    net_revenue_retention: float | None


@dataclass(frozen=True, slots=True)
class LifetimeValueRow:
    """One signup cohort and segment of ``lifetime_value.sql`` (money in cents)."""

    cohort_week: date
    segment: str
    signups: int
    paying: int
    mrr_now_cents: int
    ltv_to_date_cents: float
    ltv_per_signup_cents: float


@dataclass(frozen=True, slots=True)
class OnboardingRow:
    """Members who did or did not onboard in their first week (``onboarding.sql``).

    ``*_day`` is retention at ``retention_day`` (30), ``*_long_day`` at ``long_retention_day`` (90).
    """

    segment: str
    members: int
    measured_day: int
    retained_day: int
    retention_day: float | None
    measured_long_day: int
    retained_long_day: int
    retention_long_day: float | None


@dataclass(frozen=True, slots=True)
class SegmentCell:
    """One Orbit level x usage stage cell of ``segments.sql`` (user-periods)."""

    orbit_level: int
    usage_stage: str
    active_before: int
    users: int
    churned: int
    churn_rate: float | None


@dataclass(frozen=True, slots=True)
class InteractionRow:
    """One period and segment of ``interactions.sql``."""

    period_start: datetime
    segment: str
    users: int
    tickets: int
    unanswered_questions: int
    support_requests: int
    replies_to_others: int
    answers_accepted: int
    mentions: int
    events_attended: int
    collaborative: int
    relational_share: float | None


@dataclass(frozen=True, slots=True)
class ConnectionsRow:
    """One period end of ``connections.sql``."""

    period_end: datetime
    members: int
    connections: int
    connections_per_member: float | None
    connected_members: int
    connected_share: float | None


@dataclass(frozen=True, slots=True)
class MentorOutcomeRow:
    """Users suggested a mentor, or similar users who were not (``mentor_outcome.sql``)."""

    segment: str
    users: int
    measured_followup: int
    got_answer: int
    got_answer_share: float | None
    error_stopped: int
    error_stopped_share: float | None
    measured_day: int
    retained_day: int
    retention_day: float | None
