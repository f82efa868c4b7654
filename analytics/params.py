"""Inputs of the analyses: the as-of time and the window of periods, and how they are bound.

Pure code: no warehouse access, so the defaults are unit-tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analytics.exceptions import AnalysisError


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive time is taken to be UTC already (as the warehouse returns them)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sql_time(value: datetime) -> str:
    """A ``DateTime64(3, 'UTC')`` query parameter: clickhouse-connect would drop the milliseconds."""
    return utc(value).strftime("%Y-%m-%d %H:%M:%S.") + f"{utc(value).microsecond // 1000:03d}"


@dataclass(frozen=True)
class Window:
    """Consecutive periods ``[start + k * period_days, start + (k + 1) * period_days)``.

    Only complete periods before ``end`` are reported, so a period is never judged on
    part of its data.
    """

    start: datetime
    end: datetime
    period_days: int = 7

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.period_days < 1:
            raise AnalysisError(f"period_days must be at least 1, not {self.period_days}")
        if self.periods < 1:
            raise AnalysisError(
                f"window {self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} holds no complete "
                f"{self.period_days}-day period"
            )

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.period_days)

    @property
    def periods(self) -> int:
        """Complete periods in the window."""
        return max(0, int((self.end - self.start) / self.period))

    @property
    def last_end(self) -> datetime:
        """End of the last complete period (``end`` itself when the window is whole)."""
        return self.start + self.periods * self.period


def day_start(value: datetime) -> datetime:
    return utc(value).replace(hour=0, minute=0, second=0, microsecond=0)


def default_window(as_of: datetime, earliest: datetime | None, period_days: int, max_periods: int) -> Window:
    """The report's window: complete periods ending at or before ``as_of``, at most ``max_periods``.

    Periods end at midnight UTC, on a Monday when they are whole weeks (so they are
    calendar weeks), and start no earlier than needed to cover ``earliest``.
    """
    end = day_start(as_of)
    if period_days % 7 == 0:
        end -= timedelta(days=end.weekday())
    period = timedelta(days=period_days)
    needed = 1 if earliest is None or utc(earliest) >= end else math.ceil((end - utc(earliest)) / period)
    periods = max(1, min(max_periods, needed))
    return Window(start=end - periods * period, end=end, period_days=period_days)
