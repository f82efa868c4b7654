"""Mentor matching over an error class's solvers."""

from foundation.settings import MentorSettings
from streams.mentors.index import (
    Candidate,
    Pattern,
    applied_before,
    empty_index,
    mark_applied,
    reason,
    record_error,
    record_solution,
    suggest,
)

DAY = 86_400_000
CFG = MentorSettings(window_days=30, max_mentors=2, cooldown_hours=24, max_solvers_per_class=3)


def _index_with(*solutions: tuple[str, int]) -> dict:
    index = empty_index()
    for solver, at in solutions:
        index = record_solution(index, solver, at, CFG)
    return index


def test_best_mentors_first_by_count_then_recency() -> None:
    index = _index_with(("m1", 1 * DAY), ("m2", 2 * DAY), ("m2", 3 * DAY), ("m3", 4 * DAY))
    chosen, _ = suggest(index, "user", 5 * DAY, CFG)
    assert chosen == [Candidate("m2", 2, 3 * DAY), Candidate("m3", 1, 4 * DAY)]


def test_old_solutions_and_the_requester_are_excluded() -> None:
    index = _index_with(("old", 0), ("user", 40 * DAY), ("fresh", 39 * DAY))
    chosen, _ = suggest(index, "user", 41 * DAY, CFG)
    assert [c.canonical_id for c in chosen] == ["fresh"]


def test_one_suggestion_per_cooldown() -> None:
    index = _index_with(("m1", DAY))
    first, index = suggest(index, "user", 2 * DAY, CFG)
    again, _ = suggest(index, "user", 2 * DAY + 3_600_000, CFG)
    later, _ = suggest(index, "user", 3 * DAY + 1, CFG)
    assert [c.canonical_id for c in first] == ["m1"]
    assert again == []
    assert [c.canonical_id for c in later] == ["m1"]


def test_no_solver_no_suggestion_and_no_cooldown_spent() -> None:
    chosen, index = suggest(empty_index(), "user", DAY, CFG)
    assert chosen == [] and index == empty_index()


def test_solver_state_is_bounded_keeping_the_most_recent() -> None:
    index = _index_with(("a", 1), ("b", 2), ("c", 3), ("d", 4))
    assert sorted(index["solvers"]) == ["b", "c", "d"]


# Patterns, preference for the inner orbit, teams and reasons.
HOUR = 3_600_000
PCFG = MentorSettings(
    window_days=30,
    max_mentors=3,
    cooldown_hours=24,
    max_solvers_per_class=10,
    pattern_count=3,
    pattern_window_hours=2,
    inner_orbit_max_level=2,
)


def test_a_pattern_is_n_failures_of_the_class_within_the_window_in_any_order() -> None:
    index = empty_index()
    counts = []
    # At 0h, 3h (the first has left the 2h window), 4h, then 3.5h arriving late.
    for at in (0, 3 * HOUR, 4 * HOUR, 3 * HOUR + HOUR // 2):
        pattern, index = record_error(index, "user", at, PCFG)
        counts.append((pattern.count, pattern.first_ms))
    assert counts == [(1, 0), (1, 3 * HOUR), (2, 3 * HOUR), (2, 3 * HOUR)]
    # A second failure at 4h: within the window ending there, 3h, 3.5h and both at 4h.
    pattern, _ = record_error(index, "user", 4 * HOUR, PCFG)
    assert pattern == Pattern(count=4, first_ms=3 * HOUR)


def test_inner_orbit_solvers_come_first_then_count_then_recency() -> None:
    index = empty_index()
    # outer: 3 answers at level 3; inner: 1 answer at level 1; core: 2 answers at level 2.
    for at in (1, 2, 3):
        index = record_solution(index, "outer", at * DAY, PCFG, orbit_level=3, team="o.com")
    index = record_solution(index, "inner", 4 * DAY, PCFG, orbit_level=1, team="i.com")
    for at in (1, 2):
        index = record_solution(index, "core", at * DAY, PCFG, orbit_level=2, team="c.com")
    chosen, _ = suggest(index, "user", 5 * DAY, PCFG, team="u.com")
    assert chosen == [
        Candidate("core", 2, 2 * DAY, 2, True),
        Candidate("inner", 1, 4 * DAY, 1, True),
        Candidate("outer", 3, 3 * DAY, 3, False),
    ]


def test_never_the_requester_nor_their_teammates() -> None:
    index = empty_index()
    index = record_solution(index, "user", DAY, PCFG, orbit_level=1, team="acme.io")
    index = record_solution(index, "colleague", DAY, PCFG, orbit_level=1, team="acme.io")
    index = record_solution(index, "stranger", DAY, PCFG, orbit_level=4, team="other.io")
    index = record_solution(index, "unknown", DAY, PCFG, orbit_level=4, team=None)
    chosen, _ = suggest(index, "user", 2 * DAY, PCFG, team="acme.io")
    assert [c.canonical_id for c in chosen] == ["stranger", "unknown"]
    # A requester of no known team only excludes themselves.
    chosen, _ = suggest(index, "user", 2 * DAY, PCFG, team=None)
    assert [c.canonical_id for c in chosen] == ["colleague", "stranger", "unknown"]


def test_reason_names_solves_recency_and_orbit_level() -> None:
    assert reason(Candidate("m", 2, DAY, 1, True), "auth.invalid_token", 3 * DAY + 12 * HOUR) == (
        "2 accepted answers on auth.invalid_token, the latest 2.5 days before; orbit level 1 (inner orbit)"
    )
    assert reason(Candidate("m", 1, DAY, 3, False), "E", DAY) == (
        "1 accepted answer on E, the latest 0.0 days before; orbit level 3 (outer orbit)"
    )
    assert reason(Candidate("m", 1, DAY), "E", 2 * DAY).endswith("; orbit level unknown")


def test_an_index_written_before_patterns_and_levels_still_reads() -> None:
    old = {"solvers": {"m": {"count": 2, "last_ms": DAY}}, "suggested": {}}
    pattern, index = record_error(old, "user", 2 * DAY, PCFG)
    assert pattern == Pattern(1, 2 * DAY)
    chosen, _ = suggest(index, "user", 2 * DAY, PCFG, team="acme.io")
    assert chosen == [Candidate("m", 2, DAY, 0, False)]


def test_a_record_read_again_after_a_crash_is_recognised_by_its_place_per_user_and_input() -> None:
    _, index = record_error(empty_index(), "nina", 1, PCFG)
    index = mark_applied(index, "nina", "product-events:2", (41, 1))
    assert applied_before(index, "nina", "product-events:2", (41, 1))
    assert applied_before(index, "nina", "product-events:2", (41, 0))
    assert applied_before(index, "nina", "product-events:2", (7, 3))
    assert not applied_before(index, "nina", "product-events:2", (41, 2))
    assert not applied_before(index, "nina", "product-events:2", (42, 0))
    # Another user's records of the same input, from earlier offsets, are not copies: the
    # join folds each user's events in offset order, not all users' together.
    assert not applied_before(index, "ivy", "product-events:2", (3, 0))
    assert not applied_before(index, "nina", "product-events:1", (3, 0))
    assert not applied_before(
        {"solvers": {}, "suggested": {}, "errors": {}}, "nina", "product-events:2", (0, 0)
    )
    index = mark_applied(index, "nina", "community-events:0", (3, 0))
    assert index["applied"] == {"nina": {"product-events:2": [41, 1], "community-events:0": [3, 0]}}


def test_marks_are_kept_for_the_users_the_index_holds() -> None:
    cfg = PCFG.model_copy(update={"max_requesters_per_class": 2})
    index = empty_index()
    for t, user in enumerate(["a", "b", "c"]):
        _, index = record_error(index, user, t, cfg)
        index = mark_applied(index, user, "product-events:0", (t, 0))
    # "a" left the requesters (the bound is 2): its mark goes with it.
    assert sorted(index["errors"]) == ["b", "c"]
    assert sorted(index["applied"]) == ["b", "c"]
    # An index marked per input partition (an older form) reads as holding no marks.
    older = {**index, "applied": {"help-requests-by-class:2": 41}}
    assert not applied_before(older, "help-requests-by-class:2", "x", (0, 0))
    assert mark_applied(older, "b", "product-events:0", (5, 0))["applied"] == {
        "b": {"product-events:0": [5, 0]}
    }
