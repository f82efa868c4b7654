"""The report's pure parts: window totals, cell formatting, charts with and without data."""

from __future__ import annotations

from datetime import UTC, date, datetime

from analytics import charts, playbook_charts, summary
from analytics.report import DemoPopulation, cell_text
from analytics.rows import (
    ChurnRow,
    DeflectionRow,
    LifetimeValueRow,
    MentorOutcomeRow,
    MovementRow,
    OnboardingRow,
    RetentionRow,
    RevenueRow,
    SegmentCell,
    TriggerRow,
)

P0, P1 = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)


def test_churn_and_retention_totals_add_counts_not_rates() -> None:
    churn = [
        ChurnRow(P0, "member", 10, 1, 0.1),
        ChurnRow(P1, "member", 2, 2, 1.0),  # a rate of 1.0 on 2 users must not weigh like 10
        ChurnRow(P0, "non-member", 4, 2, 0.5),
    ]
    totals = summary.churn_by_segment(churn)
    assert (totals["member"].part, totals["member"].whole) == (3, 12)
    assert str(totals["member"]) == "25% (3/12)"
    assert str(totals["non-member"]) == "50% (2/4)"
    retention = [RetentionRow(date(2026, 3, 2), "member", 5, 0, 0, None)]
    assert str(summary.retention_by_segment(retention)["member"]) == "–"  # nothing measured yet


def test_deflection_and_last_period_moves() -> None:
    rows = [DeflectionRow(P0, 3, 1, 0.75), DeflectionRow(P1, 0, 0, None)]
    assert str(summary.deflection(rows)) == "75% (3/4)"
    moves = [
        MovementRow(P0, 1, 5, 0, 5, 0),
        MovementRow(P1, 1, 2, 0, 1, 1),
        MovementRow(P1, 4, 2, 2, 0, 0),
    ]
    up, held, down = summary.movement_in_last_period(moves) or ()
    assert (str(up), str(held), str(down)) == ("50% (2/4)", "25% (1/4)", "25% (1/4)")
    assert summary.movement_in_last_period([]) is None


def test_cells_format_rates_levels_times_and_gaps() -> None:
    assert cell_text("churn_rate", 1 / 3) == "33.3%"
    assert cell_text("orbit_level", 1) == "Orbit 1 (inner)"
    assert cell_text("period_start", P0) == "2026-03-02"
    assert cell_text("period_start", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)) == "2026-03-02 09:30"
    assert cell_text("gravity", 49 / 6) == "8.17"
    assert cell_text("density", None) == "–"
    assert cell_text("members", 7) == "7"


def test_charts_without_data_say_so_instead_of_drawing_empty_axes() -> None:
    assert "No signup cohort has reached day 30 yet" in charts.retention(
        [RetentionRow(date(2026, 3, 2), "member", 5, 0, 0, None)], 30
    )
    assert "No churn-risk trigger fired" in charts.triggers([])
    assert "No resolved questions" in charts.support_deflection([DeflectionRow(P0, 0, 0, None)])


def test_a_chart_is_inline_svg_with_its_labels_as_text() -> None:
    svg = charts.triggers([TriggerRow("USAGE_DROP", 4, 3, 1, 1 / 3)])
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "1 of 3 came back (33%)" in svg and "USAGE_DROP" in svg
    assert svg == charts.triggers([TriggerRow("USAGE_DROP", 4, 3, 1, 1 / 3)])  # stable output


def test_money_cells_are_dollars_and_level_zero_is_named() -> None:
    assert cell_text("mrr_start_cents", 3000) == "$30.00"
    assert cell_text("ltv_to_date_cents", 492500 / 30) == "$164.17"
    assert cell_text("orbit_level", 0) == "no level"
    assert cell_text("net_revenue_retention", 5 / 3) == "166.7%"


def test_playbook_charts_without_data_say_so() -> None:
    assert "No paying customer at the start" in playbook_charts.revenue([])
    assert "No signups yet" in playbook_charts.lifetime_value([])
    free = LifetimeValueRow(date(2026, 3, 2), "member", 20, 0, 0, 0.0, 0.0)
    assert "No signup has paid anything yet" in playbook_charts.lifetime_value([free])
    unmeasured = OnboardingRow("onboarded", 4, 0, 0, None, 0, 0, None)
    assert "No member has reached day 30 after joining yet" in playbook_charts.onboarding(
        [unmeasured], 30, 90
    )
    assert "Nobody was active" in playbook_charts.segments([SegmentCell(1, "power", 0, 0, 0, None)])
    assert "No mentor suggestion yet" in playbook_charts.mentor_outcome([], 30)
    quiet = MentorOutcomeRow("suggested", 1, 0, 0, None, 0, None, 0, 0, None)
    assert "0/0" not in playbook_charts.mentor_outcome([quiet], 30)  # unmeasured shows "–", not 0/0


def test_the_demo_banner_names_both_churn_shares() -> None:
    text = DemoPopulation(churn_share_members=0.12, churn_share_non_members=0.35).banner()
    assert "12% of members" in text and "35% of non-members" in text
    assert "put there by the generator" in text


def test_revenue_and_onboarding_headlines() -> None:
    revenue = [
        RevenueRow(P0, "member", 2, 3000, 0, 2000, 0, 0, 5000, 5 / 3),
        RevenueRow(P1, "member", 2, 5000, 0, 0, 1500, 0, 3500, 0.7),  # the last period's
    ]
    assert summary.last_net_revenue_retention(revenue) == {"member": 0.7, "non-member": None}
    assert summary.last_net_revenue_retention([]) == {"member": None, "non-member": None}
    onboarding = [OnboardingRow("onboarded", 3, 3, 3, 1.0, 2, 1, 0.5)]
    totals = summary.onboarding_retention(onboarding)
    assert (str(totals["onboarded"]), str(totals["not onboarded"])) == ("100% (3/3)", "–")
