"""The fault verifier's pure parts: fault placement, fault selection, warehouse comparison."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.verify.compare import compare
from bench.verify.plan import FULL_PLAN, FaultKind, parse_selection, plan_faults
from bench.verify.snapshot import Snapshot, TableSnapshot, UserState, plain


def test_faults_are_placed_by_the_seed_within_the_stream_and_apart() -> None:
    plan = plan_faults(FULL_PLAN, 10_000, seed=3)
    assert plan == plan_faults(FULL_PLAN, 10_000, seed=3)
    assert plan != plan_faults(FULL_PLAN, 10_000, seed=4)
    assert Counter(f.kind for f in plan) == Counter(FULL_PLAN)
    points = [f.at_event for f in plan]
    assert points == sorted(points)
    assert all(500 <= p <= 8_500 for p in points)
    assert all(b - a >= 300 for a, b in zip(points, points[1:], strict=False))


def test_too_many_faults_for_the_stream_are_spread_evenly() -> None:
    # 30 faults cannot be 3 events apart between events 5 and 85.
    plan = plan_faults({FaultKind.WORKER_KILL: 30}, 100, seed=1)
    assert [f.at_event for f in plan] == [5 + 2 * i for i in range(30)]


def test_fault_selection() -> None:
    assert parse_selection("all") == FULL_PLAN
    assert parse_selection("none") == {} == parse_selection("")
    assert parse_selection("worker-kill=3, sink-kill,sink-kill") == {
        FaultKind.WORKER_KILL: 3,
        FaultKind.SINK_KILL: 2,
    }
    with pytest.raises(ValueError, match="unknown fault 'disk-full' \\(known: worker-kill, sink-kill"):
        parse_selection("disk-full")


COLUMNS = ["update_id", "canonical_id", "score", "source_event_id", "source_occurred_at"]


def scores(
    rows: list[tuple], raw: dict[str, int] | None = None, final: dict[str, int] | None = None
) -> TableSnapshot:
    return TableSnapshot(
        columns=COLUMNS,
        rows={r[0]: tuple(plain(v) for v in r) for r in rows},
        source={r[0]: r[3] for r in rows},
        raw_copies=raw or {},
        final_copies=final or {},
    )


def test_comparison_counts_lost_duplicated_and_different_rows_and_charges_them_to_fault_windows() -> None:
    ref = Snapshot(
        tables={
            "engagement_scores": scores(
                [
                    ("u:e0", "u", 1.0, "e0", "t0"),
                    ("u:e1", "u", 2.0, "e1", "t1"),
                    ("u:e2", "u", 3.0, "e2", "t2"),
                    ("v:e3", "v", 1.0, "e3", "t3"),
                ]
            )
        },
        users={"u": UserState(3.0, 2, 3, ()), "v": UserState(1.0, 4, 1, ())},
    )
    run = Snapshot(
        tables={
            "engagement_scores": scores(
                [
                    ("u:e0", "u", 1.0, "e0", "t0"),
                    ("u:e1", "u", 2.5, "e1", "t1"),  # drifted after a fault...
                    ("u:e2", "u", 3.5, "e2", "t2"),  # ...and stays off: charged once
                    ("w:e4", "w", 1.0, "e4", "t4"),  # only in this run
                ],
                raw={"u:e0": 2},
                final={"u:e2": 2},
            )
        },
        users={"u": UserState(3.5, 2, 3, ()), "v": UserState(1.0, 4, 1, ())},
    )
    positions = {"e0": 0, "e1": 10, "e2": 20, "e3": 30, "e4": 40}
    diff = compare(ref, run, positions, starts=[5, 25])
    table = diff.tables["engagement_scores"]
    assert (table.lost, table.extra, table.changed, table.duplicated_final, table.duplicated_raw) == (
        1,
        1,
        2,
        1,
        1,
    )
    assert (diff.lost, diff.duplicated, diff.state_differences, diff.users_differing) == (1, 1, 4, 1)
    assert diff.by_window == {
        0: Counter({"state_differences": 1, "duplicated": 1}),  # e1 (first drift of u), e2's copy
        1: Counter({"lost": 1, "state_differences": 1}),  # e3 lost, e4 extra
    }
    assert compare(ref, ref, positions, []).total == 0


def test_plain_values_compare_floats_to_six_decimals_and_maps_in_any_order() -> None:
    assert plain(1.0000001) == plain(1.0000004)
    assert plain({"b": 1, "a": 2.0}) == plain({"a": 2.0, "b": 1})


def test_differences_of_ids_an_identity_merge_touched_are_counted_apart_and_still_fail() -> None:
    ref = Snapshot(
        tables={
            "engagement_scores": scores(
                [
                    ("p:e0", "p", 1.0, "e0", "t0"),
                    ("h:e1", "h", 1.0, "e1", "t1"),  # resolved to the GitHub id before its link
                    ("p:merge:l1:h", "p", 2.0, "l1", "t2"),
                    ("h:merged-into:l1:h", "h", 0.0, "l1", "t2"),
                    ("q:e2", "q", 1.0, "e2", "t3"),
                ]
            )
        },
        users={"p": UserState(2.0, 0, 2, ()), "h": UserState(0.0, 0, 1, ()), "q": UserState(1.0, 0, 1, ())},
    )
    run = Snapshot(
        tables={
            "engagement_scores": scores(
                [
                    ("p:e0", "p", 1.0, "e0", "t0"),
                    ("p:e1", "p", 2.0, "e1", "t1"),  # the link came first this time
                    ("q:e2", "q", 1.5, "e2", "t3"),  # a difference no link explains
                ]
            )
        },
        users={"p": UserState(2.0, 0, 2, ()), "q": UserState(1.5, 0, 1, ())},
    )
    diff = compare(ref, run, {"e0": 0, "e1": 1, "l1": 2, "e2": 3}, [])
    table = diff.tables["engagement_scores"]
    assert (table.lost, table.extra, table.changed, table.linked) == (3, 1, 1, 4)
    assert (diff.users_differing, diff.users_linked) == (2, 1)  # h gone (linked), q changed
    assert diff.linked == 5 and diff.total == 7  # linked or not, every difference counts
