"""Totals over a whole window, for the report's headline figures (pure: unit-tested)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analytics.rows import (
    ChurnRow,
    DeflectionRow,
    FirstValueRow,
    GravityRow,
    MovementRow,
    OnboardingRow,
    RetentionRow,
    RevenueRow,
)

SEGMENTS = ("member", "non-member")


@dataclass(frozen=True)
class Fraction:
    """``part`` of ``whole``, kept as counts so a reader sees what a rate rests on."""

    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def __str__(self) -> str:
        rate = self.rate
        return "–" if rate is None else f"{rate * 100:.0f}% ({self.part}/{self.whole})"


def churn_by_segment(rows: Sequence[ChurnRow]) -> dict[str, Fraction]:
    """Churned of active-before, summed over every period of the window."""
    return {
        s: Fraction(
            sum(r.churned for r in rows if r.segment == s),
            sum(r.active_before for r in rows if r.segment == s),
        )
        for s in SEGMENTS
    }


def retention_by_segment(rows: Sequence[RetentionRow]) -> dict[str, Fraction]:
    """Retained of measured, over every cohort old enough to be measured."""
    return {
        s: Fraction(
            sum(r.retained for r in rows if r.segment == s), sum(r.measured for r in rows if r.segment == s)
        )
        for s in SEGMENTS
    }


def deflection(rows: Sequence[DeflectionRow]) -> Fraction:
    """Community-resolved questions of all questions and tickets in the window."""
    resolved = sum(r.community_resolved for r in rows)
    return Fraction(resolved, resolved + sum(r.tickets_opened for r in rows))


def median_hours(rows: Sequence[FirstValueRow]) -> dict[str, float | None]:
    by = {r.segment: r.median_hours for r in rows}
    return {s: by.get(s) for s in SEGMENTS}


def latest_gravity(rows: Sequence[GravityRow]) -> float | None:
    return rows[-1].gravity if rows else None


def movement_in_last_period(rows: Sequence[MovementRow]) -> tuple[Fraction, Fraction, Fraction] | None:
    """Shares of members who moved up, held, moved down in the window's last period."""
    if not rows:
        return None
    last = max(r.period_start for r in rows)
    cells = [r for r in rows if r.period_start == last]
    counted = sum(r.members for r in cells)
    return (
        Fraction(sum(r.moved_up for r in cells), counted),
        Fraction(sum(r.held for r in cells), counted),
        Fraction(sum(r.moved_down for r in cells), counted),
    )


def last_net_revenue_retention(rows: Sequence[RevenueRow]) -> dict[str, float | None]:
    """Each segment's net revenue retention in the window's last period (None without customers)."""
    if not rows:
        return dict.fromkeys(SEGMENTS)
    last = max(r.period_start for r in rows)
    by = {r.segment: r.net_revenue_retention for r in rows if r.period_start == last}
    return {s: by.get(s) for s in SEGMENTS}


def onboarding_retention(rows: Sequence[OnboardingRow]) -> dict[str, Fraction]:
    """Retained of measured at the earlier retention day, onboarded in week one or not."""
    by = {r.segment: Fraction(r.retained_day, r.measured_day) for r in rows}
    return {g: by.get(g, Fraction(0, 0)) for g in ("onboarded", "not onboarded")}
