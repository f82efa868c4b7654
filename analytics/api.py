"""Python API: run the packaged SQL against the configured warehouse, get typed rows or frames.

``Analyses.from_settings(settings)`` connects to the configured warehouse; each analysis is
a method returning its typed rows (``analyses.churn(window)`` -> ``list[ChurnRow]``), and
``analyses.frame(name, as_of=..., window=...)`` returns the same as a pandas DataFrame.
Inputs left out default to the latest event time and the report's window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from analytics import catalog, rows
from analytics.exceptions import AnalysisError
from analytics.params import Window, default_window, sql_time, utc
from foundation.settings import AnalysesSettings, Settings

if TYPE_CHECKING:  # pandas loads in a second; the CLI imports this module on every command
    import pandas as pd

T = TypeVar("T")


def _plain(value: Any) -> Any:
    """Warehouse values as the rows declare them: aware UTC times, None for NaN."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class Analyses:
    """The analyses over one database; ``client`` is a clickhouse-connect client bound to it."""

    def __init__(self, client: Any, settings: AnalysesSettings | None = None) -> None:
        self.client = client
        self.settings = settings or AnalysesSettings()

    @classmethod
    def from_settings(cls, settings: Settings) -> Analyses:
        from foundation.warehouse_access import warehouse_client

        return cls(warehouse_client(settings.warehouse, settings.warehouse.database), settings.analyses)

    # Inputs -------------------------------------------------------------------------------

    def event_time_range(self) -> tuple[datetime, datetime] | None:
        """Earliest and latest event time in the warehouse, or None when it has no events."""
        first, last, n = self.client.query(
            "SELECT min(occurred_at), max(occurred_at), count() FROM events_final"
        ).result_rows[0]
        return (utc(first), utc(last)) if n else None

    def default_as_of(self) -> datetime:
        """The latest event time: data is judged up to where it goes (now if there is none)."""
        span = self.event_time_range()
        return span[1] if span else datetime.now(UTC)

    def default_window(self, as_of: datetime) -> Window:
        span = self.event_time_range()
        return default_window(
            as_of, span[0] if span else None, self.settings.period_days, self.settings.report_periods
        )

    def parameters(
        self, analysis: catalog.Analysis, as_of: datetime | None, window: Window | None
    ) -> dict[str, Any]:
        """The query parameters ``analysis`` names, from the inputs and the settings."""
        s = self.settings
        if as_of is None:
            as_of = window.last_end if window is not None else self.default_as_of()
        if window is None and analysis.takes_window:
            window = self.default_window(as_of)
        known: dict[str, Any] = {
            "as_of": sql_time(as_of),
            "day": s.retention_day,
            "window_days": s.retention_window_days,
            "member_within_days": s.member_within_days,
            "level_weights": [float(w) for w in s.orbit_level_weights],
            "long_day": s.long_retention_day,
            "onboarding_days": s.onboarding_within_days,
            "lookback_days": s.stage_lookback_days,
            "habitual_days": s.habitual_active_days,
            "power_days": s.power_active_days,
            "unanswered_hours": s.unanswered_hours,
            "connection_window_days": s.connection_window_days,
            "followup_days": s.mentor_followup_days,
        }
        if window is not None:
            known |= {
                "start": sql_time(window.start),
                "end": sql_time(window.end),
                "period_days": window.period_days,
            }
        return {name: known[name] for name in analysis.parameters}

    # Running ------------------------------------------------------------------------------

    def run(self, name: str, *, as_of: datetime | None = None, window: Window | None = None) -> list[Any]:
        """Rows of the analysis ``name`` as its row type (see :mod:`analytics.rows`)."""
        analysis = catalog.get(name)
        result = self.client.query(analysis.sql, parameters=self.parameters(analysis, as_of, window))
        declared = [f.name for f in fields(analysis.row_type)]
        if result.column_names and list(result.column_names) != declared:  # none come with no rows
            raise AnalysisError(f"{name}: the SQL returns {result.column_names}, the row type {declared}")
        return [analysis.row_type(*(_plain(v) for v in row)) for row in result.result_rows]

    def frame(
        self, name: str, *, as_of: datetime | None = None, window: Window | None = None
    ) -> pd.DataFrame:
        """The analysis ``name`` as a pandas DataFrame (the same columns as its rows)."""
        analysis = catalog.get(name)
        frame: pd.DataFrame = self.client.query_df(
            analysis.sql, parameters=self.parameters(analysis, as_of, window)
        )
        return frame

    def _rows(self, row_type: type[T], name: str, as_of: datetime | None, window: Window | None) -> list[T]:
        if catalog.get(name).row_type is not row_type:
            raise AnalysisError(
                f"{name} returns {catalog.get(name).row_type.__name__}, not {row_type.__name__}"
            )
        return self.run(name, as_of=as_of, window=window)

    # One method per analysis (definitions: docs/analyses.md) ------------------------------

    def retention(self, as_of: datetime | None = None) -> list[rows.RetentionRow]:
        return self._rows(rows.RetentionRow, "retention", as_of, None)

    def churn(self, window: Window | None = None) -> list[rows.ChurnRow]:
        return self._rows(rows.ChurnRow, "churn", None, window)

    def support_deflection(self, window: Window | None = None) -> list[rows.DeflectionRow]:
        return self._rows(rows.DeflectionRow, "support_deflection", None, window)

    def time_to_first_value(self, as_of: datetime | None = None) -> list[rows.FirstValueRow]:
        return self._rows(rows.FirstValueRow, "time_to_first_value", as_of, None)

    def network_density(self, as_of: datetime | None = None) -> list[rows.DensityRow]:
        return self._rows(rows.DensityRow, "network_density", as_of, None)

    def orbit_distribution(self, window: Window | None = None) -> list[rows.OrbitLevelCount]:
        return self._rows(rows.OrbitLevelCount, "orbit_distribution", None, window)

    def gravity(self, window: Window | None = None) -> list[rows.GravityRow]:
        return self._rows(rows.GravityRow, "gravity", None, window)

    def orbit_movement(self, window: Window | None = None) -> list[rows.MovementRow]:
        return self._rows(rows.MovementRow, "orbit_movement", None, window)

    def triggers(self, window: Window | None = None, as_of: datetime | None = None) -> list[rows.TriggerRow]:
        return self._rows(rows.TriggerRow, "triggers", as_of, window)

    def revenue(self, window: Window | None = None) -> list[rows.RevenueRow]:
        return self._rows(rows.RevenueRow, "revenue", None, window)

    def lifetime_value(self, as_of: datetime | None = None) -> list[rows.LifetimeValueRow]:
        return self._rows(rows.LifetimeValueRow, "lifetime_value", as_of, None)

    def onboarding(self, as_of: datetime | None = None) -> list[rows.OnboardingRow]:
        return self._rows(rows.OnboardingRow, "onboarding", as_of, None)

    def segments(self, window: Window | None = None) -> list[rows.SegmentCell]:
        return self._rows(rows.SegmentCell, "segments", None, window)

    def interactions(self, window: Window | None = None) -> list[rows.InteractionRow]:
        return self._rows(rows.InteractionRow, "interactions", None, window)

    def connections(self, window: Window | None = None) -> list[rows.ConnectionsRow]:
        return self._rows(rows.ConnectionsRow, "connections", None, window)

    def mentor_outcome(self, as_of: datetime | None = None) -> list[rows.MentorOutcomeRow]:
        return self._rows(rows.MentorOutcomeRow, "mentor_outcome", as_of, None)


def as_records(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as plain dicts (for tables and JSON)."""
    return [{f.name: getattr(item, f.name) for f in fields(item)} for item in items]
