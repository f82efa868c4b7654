"""Mentor matching over an error class's solvers."""

from infra.settings import MentorSettings
from streams.mentors.index import Candidate, empty_index, record_solution, suggest

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
