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
