"""Analysis inputs: windows of complete periods, the report's default window, parameter binding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from analytics import Analyses, catalog
from analytics.exceptions import AnalysisError
from analytics.params import Window, default_window, sql_time
from foundation.settings import AnalysesSettings

MON = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def test_a_window_counts_only_complete_periods() -> None:
    window = Window(MON, MON + timedelta(days=20), period_days=7)
    assert window.periods == 2
    assert window.last_end == MON + timedelta(days=14)


def test_a_window_without_a_complete_period_is_refused() -> None:
    with pytest.raises(AnalysisError, match="no complete 7-day period"):
        Window(MON, MON + timedelta(days=6))
    with pytest.raises(AnalysisError, match="period_days"):
        Window(MON, MON + timedelta(days=6), period_days=0)


def test_window_times_are_utc_whatever_they_came_in() -> None:
    window = Window(datetime(2026, 3, 2), datetime(2026, 3, 9, 1, tzinfo=timezone(timedelta(hours=1))))
    assert window.start == MON and window.end == MON + timedelta(days=7)


def test_sql_time_keeps_milliseconds_in_utc() -> None:
    local = datetime(2026, 3, 2, 10, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=2)))
    assert sql_time(local) == "2026-03-02 08:00:00.123"


def test_the_default_window_ends_on_the_monday_before_as_of_and_covers_the_data() -> None:
    as_of = MON + timedelta(days=16, hours=18)  # Wednesday Mar 18, 18:00
    window = default_window(as_of, earliest=MON + timedelta(hours=9), period_days=7, max_periods=12)
    assert (window.start, window.end, window.periods) == (MON, MON + timedelta(days=14), 2)


def test_the_default_window_is_capped_and_never_empty() -> None:
    as_of = MON + timedelta(days=400)
    capped = default_window(as_of, earliest=MON, period_days=7, max_periods=12)
    assert capped.periods == 12 and capped.end.weekday() == 0
    fresh = default_window(
        MON + timedelta(hours=5), earliest=MON + timedelta(hours=1), period_days=7, max_periods=12
    )
    assert (fresh.start, fresh.end) == (MON - timedelta(days=7), MON)


def test_daily_periods_end_at_midnight_not_monday() -> None:
    window = default_window(MON + timedelta(days=2, hours=3), earliest=MON, period_days=1, max_periods=30)
    assert (window.start, window.end, window.periods) == (MON, MON + timedelta(days=2), 2)


def test_every_sql_file_is_a_catalogued_analysis_and_names_only_known_parameters() -> None:
    assert sorted(p.stem for p in catalog.SQL_DIR.glob("*.sql")) == sorted(catalog.ANALYSES)
    known = {
        "as_of",
        "start",
        "end",
        "period_days",
        "day",
        "window_days",
        "member_within_days",
        "level_weights",
        "long_day",
        "onboarding_days",
        "lookback_days",
        "habitual_days",
        "power_days",
        "unanswered_hours",
        "connection_window_days",
        "followup_days",
    }
    for analysis in catalog.ANALYSES.values():
        assert analysis.parameters, analysis.name
        assert analysis.parameters <= known, analysis.name


def test_parameters_come_from_the_inputs_and_the_settings() -> None:
    analyses = Analyses(client=None, settings=AnalysesSettings(orbit_level_weights=(12, 8, 4, 2)))
    window = Window(MON, MON + timedelta(days=14))
    gravity = analyses.parameters(catalog.get("gravity"), None, window)
    assert gravity == {
        "start": "2026-03-02 00:00:00.000",
        "end": "2026-03-16 00:00:00.000",
        "period_days": 7,
        "level_weights": [12.0, 8.0, 4.0, 2.0],
    }
    # Without an as-of, a windowed analysis is judged at the end of the window's last period.
    triggers = analyses.parameters(catalog.get("triggers"), None, window)
    assert triggers["as_of"] == "2026-03-16 00:00:00.000"
    retention = analyses.parameters(catalog.get("retention"), MON, None)
    assert retention == {
        "as_of": "2026-03-02 00:00:00.000",
        "day": 30,
        "window_days": 7,
        "member_within_days": 7,
    }
    # The playbook analyses read their thresholds from the settings too.
    custom = Analyses(
        client=None,
        settings=AnalysesSettings(stage_lookback_days=14, habitual_active_days=4, power_active_days=10),
    )
    segments = custom.parameters(catalog.get("segments"), None, window)
    assert {k: segments[k] for k in ("lookback_days", "habitual_days", "power_days")} == {
        "lookback_days": 14,
        "habitual_days": 4,
        "power_days": 10,
    }
    onboarding = analyses.parameters(catalog.get("onboarding"), MON, None)
    assert onboarding == {
        "as_of": "2026-03-02 00:00:00.000",
        "day": 30,
        "long_day": 90,
        "window_days": 7,
        "onboarding_days": 7,
    }


def test_unknown_analyses_and_inconsistent_settings_are_refused() -> None:
    with pytest.raises(AnalysisError, match="no analysis 'nope'; there are: retention, churn"):
        catalog.get("nope")
    with pytest.raises(ValueError, match="retention_window_days"):
        AnalysesSettings(retention_day=5, retention_window_days=7)
    with pytest.raises(ValueError, match="habitual_active_days < power_active_days <= stage_lookback_days"):
        AnalysesSettings(habitual_active_days=16, power_active_days=16)
    with pytest.raises(ValueError, match="habitual_active_days < power_active_days <= stage_lookback_days"):
        AnalysesSettings(power_active_days=30, stage_lookback_days=28)
