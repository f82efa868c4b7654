"""The playbook analyses on their hand-built dataset (playbook_dataset.py), with exact answers
worked out by hand below. Defaults: retention at day 30 and day 90 over the 7 days before,
onboarding within 7 days of joining, usage stages over 28 days (habitual 8 active days,
power 16), unanswered after 48 h, connections within 90 days, mentor followup 7 days.

Periods: P0 = [Mar 2, Mar 9), P1 = [Mar 9, Mar 16); A = [Feb 23, Mar 2) precedes P0.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from analytics import Analyses
from analytics.rows import (
    ConnectionsRow,
    InteractionRow,
    MentorOutcomeRow,
    OnboardingRow,
    RevenueRow,
    SegmentCell,
)
from tests.integration.analytics.playbook_dataset import AS_OF, WINDOW

pytestmark = pytest.mark.integration

MAR2, MAR9, MAR16 = (datetime(2026, 3, d, tzinfo=UTC) for d in (2, 9, 16))


def test_the_duplicates_are_stored_twice(warehouse: Any, playbook_db: str) -> None:
    client = warehouse.client(database=playbook_db)
    for table, where in (
        ("events", "canonical_id = 'r1' AND event_type = 'PlanChanged' AND occurred_at = '2026-03-04'"),
        ("relationship_edges", "from_canonical_id = 'c1'"),
        ("mentor_suggestions", "suggestion_id = 'sg-g1'"),
    ):
        assert client.command(f"SELECT count() FROM {table} WHERE {where}") == 2, table


def test_revenue_moves_and_net_revenue_retention_per_period(playbook: Analyses) -> None:
    # MRR at a time = the latest plan change strictly before it.
    # P0, members (joined in January): r1 1000 -> 3000 (upgrade Mar 4, stored twice: one
    #   change), r2 2000 -> 2000. Start 3000, expansion 2000, end 5000; NRR = 5000 / 3000.
    # P0, non-members: r3 4000 -> 0 (cancel Mar 3): churned 4000; r4 0 -> 1500 (signup Mar 5):
    #   new 1500; r5 pays 0 throughout: not counted. Customers at the start: r3 only;
    #   NRR = (4000 - 4000) / 4000 = 0.
    # P1, members: r1 3000 -> 3000, r2 2000 -> 500 (downgrade Mar 10): contraction 1500;
    #   start 5000, end 3500, NRR = 3500 / 5000 = 0.7.
    # P1, non-members: r4 1500 -> 2500 (upgrade Mar 11): expansion 1000; NRR = 2500 / 1500.
    assert playbook.revenue(WINDOW) == [
        RevenueRow(MAR2, "member", customers=2, mrr_start_cents=3000, new_mrr_cents=0,
                   expansion_mrr_cents=2000, contraction_mrr_cents=0, churned_mrr_cents=0,
                   mrr_end_cents=5000, net_revenue_retention=5000 / 3000),
        RevenueRow(MAR2, "non-member", customers=1, mrr_start_cents=4000, new_mrr_cents=1500,
                   expansion_mrr_cents=0, contraction_mrr_cents=0, churned_mrr_cents=4000,
                   mrr_end_cents=1500, net_revenue_retention=0.0),
        RevenueRow(MAR9, "member", customers=2, mrr_start_cents=5000, new_mrr_cents=0,
                   expansion_mrr_cents=0, contraction_mrr_cents=1500, churned_mrr_cents=0,
                   mrr_end_cents=3500, net_revenue_retention=0.7),
        RevenueRow(MAR9, "non-member", customers=1, mrr_start_cents=1500, new_mrr_cents=0,
                   expansion_mrr_cents=1000, contraction_mrr_cents=0, churned_mrr_cents=0,
                   mrr_end_cents=2500, net_revenue_retention=2500 / 1500),
    ]  # fmt: skip


def test_lifetime_value_to_date_by_signup_cohort(playbook: Analyses) -> None:
    # Revenue to date = sum of MRR x days held / 30, up to Jun 1.
    # Week of Jan 5, members: r1 1000 x 58 days (Jan 5 -> Mar 4) + 3000 x 89 (Mar 4 -> Jun 1)
    #   = 325000 / 30; r2 2000 x 63 (Jan 6 -> Mar 10) + 500 x 83 (Mar 10 -> Jun 1) = 167500 / 30.
    #   Both pay now: 3000 + 500. Total 492500 / 30, per signup 492500 / 60.
    # Week of Jan 5, non-members: r3 4000 x 55 (Jan 7 -> Mar 3 cancel) = 220000 / 30; r5 free: 0.
    # Week of Mar 2: r4 1500 x 6 (Mar 5 -> Mar 11) + 2500 x 82 (Mar 11 -> Jun 1) = 214000 / 30.
    rows = playbook.lifetime_value(AS_OF)
    assert [(r.cohort_week, r.segment, r.signups, r.paying, r.mrr_now_cents) for r in rows] == [
        (date(2026, 1, 5), "member", 2, 2, 3500),
        (date(2026, 1, 5), "non-member", 2, 0, 0),
        (date(2026, 3, 2), "non-member", 1, 1, 2500),
    ]
    # (revenue to date, per signup) of each row
    assert [x for r in rows for x in (r.ltv_to_date_cents, r.ltv_per_signup_cents)] == pytest.approx(
        [492500 / 30, 492500 / 60, 220000 / 30, 220000 / 60, 214000 / 30, 214000 / 30]
    )


def test_first_week_onboarding_retention_at_day_30_and_90(playbook: Analyses) -> None:
    # Members: r1 r2 (Jan 5-6), o1-o4 (Jan 12), o5 (Apr 1), s1 s2 s3 (Jan 2); staff left out.
    # Onboarded (step 3 of 3 within 7 days of joining): o1 (Jan 14), o2 (6 d 23 h), o5 (Apr 2).
    #   Day 30 = activity in [join + 23 d, join + 30 d): o1 and o2 Feb 5 in [Feb 4, Feb 11),
    #   o5 Apr 28 in [Apr 24, May 1) -> 3/3.
    #   Day 90 ([Apr 5, Apr 12) for a Jan 12 join): o1 Apr 6 yes, o2 no; o5's day 90 (Jun 30)
    #   is after Jun 1: not measured -> 1/2.
    # Not onboarded: o3 (done after 8 days), o4 (2 of 3 steps), r1 r2 s1 s2 s3 (never started).
    #   Day 30: o3 Feb 6 only (the others are quiet in their [join + 23 d, join + 30 d)) -> 1/7.
    #   Day 90: o3 Apr 7 only (s1's sessions end Mar 15, before its [Mar 26, Apr 2)) -> 1/7.
    assert playbook.onboarding(AS_OF) == [
        OnboardingRow("onboarded", members=3, measured_day=3, retained_day=3, retention_day=1.0,
                      measured_long_day=2, retained_long_day=1, retention_long_day=0.5),
        OnboardingRow("not onboarded", members=7, measured_day=7, retained_day=1, retention_day=1 / 7,
                      measured_long_day=7, retained_long_day=1, retention_long_day=1 / 7),
    ]  # fmt: skip


def test_segments_orbit_level_by_usage_stage_with_churn(playbook: Analyses) -> None:
    # Active in A (before P0): s1, s2, s3, s4, s5. Active in P0 (before P1): s1, s3, s4.
    # Stages at the period's start from the 28 days before it:
    #   s1: first value Feb 10, sessions daily Feb 10 .. Mar 15 -> P0: 20 days (Feb 10 .. Mar 1),
    #       P1: 27 days: power both times; level 1; active in P0 and P1: not churned.
    #   s2: first value Feb 16, 10 days (Feb 16 .. 25): habitual; level 2; nothing in P0: churned.
    #   s3: a key feature Feb 26 (1 day): activated; level 3 at Mar 2, 2 at Mar 9 (update Mar 5);
    #       active in P0 (replies) and P1 (a mention): not churned.
    #   s4: only a failed call: trial; no level (0); ticket Mar 4 in P0, nothing in P1: churned in P1.
    #   s5: one successful call Feb 28: activated; no level; nothing in P0: churned.
    cells = {(c.orbit_level, c.usage_stage): c for c in playbook.segments(WINDOW)}
    assert len(cells) == 20  # levels 0-4 x four stages, every cell listed
    assert cells[(0, "trial")] == SegmentCell(0, "trial", active_before=2, users=1, churned=1, churn_rate=0.5)
    assert cells[(0, "activated")] == SegmentCell(0, "activated", 1, 1, 1, 1.0)
    assert cells[(1, "power")] == SegmentCell(1, "power", 2, 1, 0, 0.0)
    assert cells[(2, "habitual")] == SegmentCell(2, "habitual", 1, 1, 1, 1.0)
    assert cells[(2, "activated")] == SegmentCell(2, "activated", 1, 1, 0, 0.0)
    assert cells[(3, "activated")] == SegmentCell(3, "activated", 1, 1, 0, 0.0)
    filled = {(0, "trial"), (0, "activated"), (1, "power"), (2, "habitual"), (2, "activated"),
              (3, "activated")}  # fmt: skip
    for key, cell in cells.items():
        if key not in filled:
            assert (cell.active_before, cell.users, cell.churned, cell.churn_rate) == (0, 0, 0, None), key


def test_transactional_vs_relational_per_period(playbook: Analyses) -> None:
    # P0 members: s1 attended an event Mar 4 and mentioned Mar 5; s3 replied to s4's q-s4b and
    #   had that answer accepted (its reply to its own post p-s3 is not to others) -> 0 support,
    #   4 collaborative, share 1.0. staff's reply is left out.
    # P0 non-members: s4 opened ticket tk1 and asked q-s4 (no reply: unanswered); q-s4b got
    #   s3's reply 24 h later: answered -> 2 support, 0 collaborative.
    # P1 members: s1 replied to s3's q-s3, opened tk2 and asked q-s1 (no reply); s3 mentioned;
    #   q-s3 got s1's reply 2 h later -> 2 support, 2 collaborative, share 0.5.
    # P1 non-members: nothing (r4's plan changes are neither) -> zeros, share NULL.
    assert playbook.interactions(WINDOW) == [
        InteractionRow(MAR2, "member", users=2, tickets=0, unanswered_questions=0, support_requests=0,
                       replies_to_others=1, answers_accepted=1, mentions=1, events_attended=1,
                       collaborative=4, relational_share=1.0),
        InteractionRow(MAR2, "non-member", 1, 1, 1, 2, 0, 0, 0, 0, 0, 0.0),
        InteractionRow(MAR9, "member", 2, 1, 1, 2, 1, 0, 1, 0, 2, 0.5),
        InteractionRow(MAR9, "non-member", 0, 0, 0, 0, 0, 0, 0, 0, 0, None),
    ]  # fmt: skip


def test_meaningful_connections_per_member_over_time(playbook: Analyses) -> None:
    # Members at Mar 9: s1 (1), s2 s3 c1 (2), c2 (4) = 5; at Mar 16 also c3 (level 3 from Mar 10) = 6.
    # Conversations (reply, answer, mention) within 90 days before the period's end:
    #   Mar 9: s1-s3 (a reply and an answer back: one pair) -> 1 pair; 2 x 1 / 5 = 0.4 per member;
    #          connected: s1, s3 -> 2 of 5.
    #   Mar 16: s1-s3, c1-c2 (Mar 10, stored twice), c3-s1 (Mar 12) -> 3 pairs; 6 / 6 = 1.0;
    #          connected: s1, s3, c1, c2, c3 -> 5 of 6.
    # Not counted: s2-c1 reaction (not a conversation), s2's self-mention, staff-s2 (level 0),
    # s4-s2 (s4 has no level), s2-c1 reply of Nov 20 (more than 90 days before).
    assert playbook.connections(WINDOW) == [
        ConnectionsRow(MAR9, members=5, connections=1, connections_per_member=0.4, connected_members=2,
                       connected_share=0.4),
        ConnectionsRow(MAR16, members=6, connections=3, connections_per_member=1.0, connected_members=5,
                       connected_share=5 / 6),
    ]  # fmt: skip


def test_mentor_outcome_against_similar_users_without_a_suggestion(playbook: Analyses) -> None:
    # Suggested: g1 (Apr 10 12:00), g2 (Apr 20, rate_limit.exceeded; its May 1 suggestion is
    #   not the first), g3 (May 28: its 7-day followup and day 30 are after Jun 1: counted in
    #   users only). staff's suggestion is left out.
    #   g1: q-g1 accepted Apr 11 (within 7 days); a success Apr 12, no failure after: stopped;
    #       session May 8 in [May 3 12:00, May 10 12:00): retained.
    #   g2: no question; success Apr 21 but rate_limit.exceeded again Apr 22: not stopped;
    #       nothing in [May 13, May 20): not retained.
    # Not suggested, failed with a suggested class: h1 (auth.invalid_token Apr 10 09:00),
    #   h2 (rate_limit.exceeded Apr 15); h3's webhook.timeout was never suggested for; staff
    #   is a teammate.
    #   h1: no question; success Apr 11: stopped; session May 8 in [May 3 09:00, May 10 09:00).
    #   h2: q-h2 accepted Apr 30, after its followup (Apr 22); no success; quiet in [May 8, May 15).
    assert playbook.mentor_outcome(AS_OF) == [
        MentorOutcomeRow("suggested", users=3, measured_followup=2, got_answer=1, got_answer_share=0.5,
                         error_stopped=1, error_stopped_share=0.5, measured_day=2, retained_day=1,
                         retention_day=0.5),
        MentorOutcomeRow("not suggested", users=2, measured_followup=2, got_answer=0, got_answer_share=0.0,
                         error_stopped=1, error_stopped_share=0.5, measured_day=2, retained_day=1,
                         retention_day=0.5),
    ]  # fmt: skip
