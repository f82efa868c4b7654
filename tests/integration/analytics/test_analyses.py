"""Every packaged analysis on the hand-built dataset (dataset.py), with exact answers worked
out by hand below. Defaults: D30 retention over the last 7 days before day 30, cohort
members joined within 7 days of signup, Orbit weights 10/7/4/1 for levels 1..4.

Periods: P0 = [Feb 2, Feb 9), P1 = [Feb 9, Feb 16); A = [Jan 26, Feb 2) precedes P0.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from analytics import Analyses
from analytics.rows import (
    ChurnRow,
    DeflectionRow,
    DensityRow,
    FirstValueRow,
    GravityRow,
    MovementRow,
    OrbitLevelCount,
    RetentionRow,
    TriggerRow,
)
from tests.integration.analytics.dataset import AS_OF, DUPLICATED, WINDOW

pytestmark = pytest.mark.integration

FEB2, FEB9, FEB16 = (datetime(2026, 2, d, tzinfo=UTC) for d in (2, 9, 16))


def test_the_duplicates_are_stored_and_every_analysis_reads_through_them(
    warehouse: Any, analyses_db: str, analyses: Analyses
) -> None:
    client = warehouse.client(database=analyses_db)
    for table, key, value in DUPLICATED:
        assert client.command(f"SELECT count() FROM {table} WHERE {key} = '{value}'") == 2, table
        assert client.command(f"SELECT count() FROM {table} FINAL WHERE {key} = '{value}'") == 1, table
    # Read naively, the duplicated trigger counts twice: USAGE_DROP would show 3 triggers.
    naive = client.command(
        "SELECT count() FROM churn_triggers WHERE reason = 'USAGE_DROP' AND fired_at >= '2026-02-02'"
        " AND fired_at < '2026-02-16'"
    )
    assert naive == 3
    assert {r.reason: r.triggers for r in analyses.triggers(WINDOW, AS_OF)}["USAGE_DROP"] == 2


def test_retention_d30_by_weekly_cohort_members_vs_non_members(analyses: Analyses) -> None:
    # Retained = activity in [signup + 23 d, signup + 30 d); measured once signup + 30 d <= Feb 20.
    # W1 members m1 m2 m3 m5:
    #   m1 (signup Jan 5 10:00) session Jan 30 -> in [Jan 28 10:00, Feb 4 10:00): retained
    #   m2 (Jan 6 09:00) answer accepted Feb 3 -> in [Jan 29 09:00, Feb 5 09:00): retained
    #   m3 (Jan 7 08:00) sessions Jan 20 (too early) and Feb 6 08:00 (= day 30, excluded): not
    #   m5 (Jan 10, a Saturday: still W1; a member only once its GitHub join is re-resolved
    #      to it) reply Feb 4 -> in [Feb 2 10:00, Feb 9 10:00): retained
    #   -> 3/4
    # W1 non-members n1 n2 late (joined 10 days after signup, so not a cohort member):
    #   n1 session Feb 1 15:00 in [Jan 28 15:00, Feb 4 15:00): retained
    #   n2 window [Jan 31 11:00, Feb 7 11:00): ticket opened Jan 31 10:00 is before it; an
    #      UPGRADE (PlanChanged) and the support team's ticket close are not activity: not
    #   late session Feb 5 in [Feb 1 10:00, Feb 8 10:00): retained
    #   -> 2/3
    # W2: m4 session Feb 8 in [Feb 4 10:00, Feb 11 10:00): 1/1; n3 ticket Feb 12 12:00 is
    #   after [Feb 5 10:00, Feb 12 10:00): 0/1.
    # p signed up Feb 10: day 30 is Mar 12 > Feb 20, so counted but not measured.
    # staff (teammate), x and n4 (no signup) are in no cohort.
    assert analyses.retention(AS_OF) == [
        RetentionRow(date(2026, 1, 5), "member", signups=4, measured=4, retained=3, retention=0.75),
        RetentionRow(date(2026, 1, 5), "non-member", signups=3, measured=3, retained=2, retention=2 / 3),
        RetentionRow(date(2026, 1, 12), "member", signups=1, measured=1, retained=1, retention=1.0),
        RetentionRow(date(2026, 1, 12), "non-member", signups=1, measured=1, retained=0, retention=0.0),
        RetentionRow(date(2026, 2, 9), "non-member", signups=1, measured=0, retained=0, retention=None),
    ]


def test_churn_per_period_members_vs_non_members(analyses: Analyses) -> None:
    # P0: active in A = m1 (Jan 30), m4 (Jan 28), x (Jan 27), n1 (Feb 1), n2 (ticket Jan 31).
    #   members at Feb 2: m1, m4, x. In P0: m1 Feb 3, m4 Feb 8, x nothing -> 1 of 3 churned.
    #   non-members: n1 nothing; n2 only the support team's ticket close -> 2 of 2 churned.
    # P1: active in P0 = m1, m2, m3, late, m5, m4 (all members by Feb 9: late joined Jan 19)
    #   and n4. In P1: m2 Feb 10, m3 Feb 13, m5 Feb 11 stay; m1 (next seen Feb 18), late,
    #   m4 are gone -> 3 of 6. n4 Feb 10 stays -> 0 of 1. staff, active throughout, is left out.
    assert analyses.churn(WINDOW) == [
        ChurnRow(FEB2, "member", active_before=3, churned=1, churn_rate=1 / 3),
        ChurnRow(FEB2, "non-member", active_before=2, churned=2, churn_rate=1.0),
        ChurnRow(FEB9, "member", active_before=6, churned=3, churn_rate=0.5),
        ChurnRow(FEB9, "non-member", active_before=1, churned=0, churn_rate=0.0),
    ]


def test_support_deflection_per_period(analyses: Analyses) -> None:
    # Questions by first acceptance: q0 Jan 30 (before P0, re-accepted Feb 5: not counted
    # again), q1 Feb 3 (re-accepted Feb 10), q2 Feb 4 -> P0: 2; q3 Feb 11 -> P1: 1.
    # Tickets opened: t1 Jan 31 (before), t2 Feb 5 -> P0: 1; t3 Feb 10, t4 Feb 12 -> P1: 2.
    assert analyses.support_deflection(WINDOW) == [
        DeflectionRow(FEB2, community_resolved=2, tickets_opened=1, deflection=2 / 3),
        DeflectionRow(FEB9, community_resolved=1, tickets_opened=2, deflection=1 / 3),
    ]


def test_time_to_first_value_members_vs_non_members(analyses: Analyses) -> None:
    # Members: m1 key feature 3 h after signup, m2 API call 24 h, m3 first *successful*
    # call 48 h (its 401 at 2 h does not count), m4 2 h, m5 never -> 4 of 5;
    #   median of (2, 3, 24, 48) = (3 + 24) / 2 = 13.5; mean 77 / 4 = 19.25.
    # Non-members: n1 24 h, late 24 h, p 10 h; n2 never; n3's only call was before its
    #   signup -> 3 of 5; median of (10, 24, 24) = 24; mean 58 / 3.
    assert analyses.time_to_first_value(AS_OF) == [
        FirstValueRow("member", 5, reached_value=4, reached_share=0.8, median_hours=13.5, mean_hours=19.25),
        FirstValueRow(
            "non-member", 5, reached_value=3, reached_share=0.6, median_hours=24.0, mean_hours=58 / 3
        ),
    ]


def test_orbit_distribution_at_each_period_end(analyses: Analyses) -> None:
    # Levels from each member's latest score update before the period end:
    #   Feb 9:  m5 1; m1 2 (Feb 5), m3 2 (its Feb 9 00:00 update is not before Feb 9);
    #           m2 3; m4 4 (Feb 3), x 4                       -> 1, 2, 1, 2
    #   Feb 16: m1 1 (Feb 12); m2 2 (two updates at Feb 10: event_count 6 beats 5),
    #           m5 2 (Feb 14), x 2 (Feb 12); m3 3; m4 4         -> 1, 3, 1, 1
    # staff and n1 (level 0) are not counted.
    assert analyses.orbit_distribution(WINDOW) == [
        OrbitLevelCount(FEB9, 1, 1), OrbitLevelCount(FEB9, 2, 2),
        OrbitLevelCount(FEB9, 3, 1), OrbitLevelCount(FEB9, 4, 2),
        OrbitLevelCount(FEB16, 1, 1), OrbitLevelCount(FEB16, 2, 3),
        OrbitLevelCount(FEB16, 3, 1), OrbitLevelCount(FEB16, 4, 1),
    ]  # fmt: skip


def test_gravity_is_the_change_in_weighted_commitment_per_member(analyses: Analyses) -> None:
    # Weighted commitment = 10^2 n1 + 7^2 n2 + 4^2 n3 + 1^2 n4 (members per level).
    #   Feb 2:  m5 1, m3 2, m2 3, m1 4, x 4 -> 100 + 49 + 16 + 2 = 167 (5 members)
    #   Feb 9:  1, 2, 1, 2                  -> 100 + 98 + 16 + 2 = 216 (6 members)
    #   Feb 16: 1, 3, 1, 1                  -> 100 + 147 + 16 + 1 = 264 (6 members)
    # Gravity P0 = (216 - 167) / 6 = 49 / 6; P1 = (264 - 216) / 6 = 8.
    assert analyses.gravity(WINDOW) == [
        GravityRow(FEB2, FEB9, members=6, weighted_commitment_start=167.0, weighted_commitment_end=216.0,
                   gravity=49 / 6),
        GravityRow(FEB9, FEB16, members=6, weighted_commitment_start=216.0, weighted_commitment_end=264.0,
                   gravity=8.0),
    ]  # fmt: skip


def test_orbit_movement_up_held_down_by_starting_level(analyses: Analyses) -> None:
    # P0 (Feb 2 -> Feb 9): m5 1->1, m3 2->2, m2 3->3 held; m1 4->2 up, x 4->4 held; m4 is new.
    # P1 (Feb 9 -> Feb 16): m5 1->2 down; m1 2->1 up, m3 2->3 down; m2 3->2 up;
    #   m4 4->4 held, x 4->2 up.
    assert analyses.orbit_movement(WINDOW) == [
        MovementRow(FEB2, 1, members=1, moved_up=0, held=1, moved_down=0),
        MovementRow(FEB2, 2, members=1, moved_up=0, held=1, moved_down=0),
        MovementRow(FEB2, 3, members=1, moved_up=0, held=1, moved_down=0),
        MovementRow(FEB2, 4, members=2, moved_up=1, held=1, moved_down=0),
        MovementRow(FEB9, 1, members=1, moved_up=0, held=0, moved_down=1),
        MovementRow(FEB9, 2, members=2, moved_up=1, held=0, moved_down=1),
        MovementRow(FEB9, 3, members=1, moved_up=1, held=0, moved_down=0),
        MovementRow(FEB9, 4, members=2, moved_up=1, held=1, moved_down=0),
    ]


def test_network_density_per_orbit_level(analyses: Analyses) -> None:
    # Levels at Feb 16: 1 = {m1}, 2 = {m2, m5, x}, 3 = {m3}, 4 = {m4}.
    # Level 2 pairs: m2-m5 (a reply and an answer back: one pair), x-m5 (stored twice: one);
    #   m2-x happens Feb 17, after as-of -> 2 of 3 * 2 / 2 = 3 possible: 2/3; 2 / 3 per member.
    # Not counted: m1-m2 (levels 1 and 2), m4-m4 (self), n1 and staff (no level).
    assert analyses.network_density(FEB16) == [
        DensityRow(1, members=1, connections=0, density=None, connections_per_member=0.0),
        DensityRow(2, members=3, connections=2, density=2 / 3, connections_per_member=2 / 3),
        DensityRow(3, members=1, connections=0, density=None, connections_per_member=0.0),
        DensityRow(4, members=1, connections=0, density=None, connections_per_member=0.0),
    ]


def test_triggers_by_reason_and_who_came_back(analyses: Analyses) -> None:
    # Fired in [Feb 2, Feb 16): n1 USAGE_DROP Feb 4 (stored twice), m1 USAGE_DROP Feb 12,
    # m4 MEMBER_SILENT Feb 14, m2 API_ERRORS Feb 3 and Feb 10. Left out: staff's trigger,
    # n1's of Jan 20, x's at Feb 16 00:00 (the window's end).
    # Came back by Feb 20: m2 (accepted answers Feb 3 12:00 and Feb 10 12:00, after both),
    # m1 (session Feb 18); n1 and m4 did nothing after.
    assert analyses.triggers(WINDOW, AS_OF) == [
        TriggerRow("API_ERRORS", triggers=2, users=1, users_came_back=1, came_back_share=1.0),
        TriggerRow("USAGE_DROP", triggers=2, users=2, users_came_back=1, came_back_share=0.5),
        TriggerRow("MEMBER_SILENT", triggers=1, users=1, users_came_back=0, came_back_share=0.0),
    ]


def test_frames_carry_the_same_numbers_as_rows(analyses: Analyses) -> None:
    frame = analyses.frame("churn", window=WINDOW)
    assert list(frame.columns) == ["period_start", "segment", "active_before", "churned", "churn_rate"]
    assert frame["churned"].tolist() == [1, 2, 3, 0]
    assert frame["active_before"].sum() == 12


def test_defaults_come_from_the_data(analyses: Analyses) -> None:
    # The latest event is m1's session on Feb 18 10:00; the report's window ends at the
    # Monday before it (Feb 16) and reaches back to the week of the first event (Dec 29).
    as_of = analyses.default_as_of()
    assert as_of == datetime(2026, 2, 18, 10, tzinfo=UTC)
    window = analyses.default_window(as_of)
    assert (window.start, window.end, window.periods) == (datetime(2025, 12, 29, tzinfo=UTC), FEB16, 7)
