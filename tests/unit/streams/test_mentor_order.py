"""The mentor matcher's input order: help requests and solutions from every join partition
applied in the join's event-time order whatever the arrival order, each once."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.settings import MentorSettings
from streams.batches import SourceClock
from streams.mentors.matching import apply_once
from streams.mentors.ordering import HELP_KIND, SOLUTIONS_KIND, Kind, MentorMerge, Position, channels
from streams.messages import HelpRequest, MentorClock, Solution

# A suggestion for every failure with a solver in reach, and no cooldown: every order
# difference shows in the suggestions (mentors, their counts and latest solves).
CFG = MentorSettings(window_days=30, max_mentors=3, cooldown_hours=0, pattern_count=1)
Record = HelpRequest | Solution


def solution(
    sender: int, tag: int, offset: int, solver: str, cls: str = "auth", solved_ms: int | None = None
):
    return Solution(
        error_class=cls,
        solver_canonical_id=solver,
        solved_at_ms=tag if solved_ms is None else solved_ms,
        sender=sender,
        tag=tag,
        origin=f"community-events:{sender}",
        origin_offset=offset,
    )


def request(sender: int, tag: int, offset: int, user: str, cls: str = "auth", at_ms: int | None = None):
    return HelpRequest(
        canonical_id=user,
        error_class=cls,
        event_id=f"e{sender}-{offset}",
        occurred_at_ms=tag if at_ms is None else at_ms,
        sent_at_ms=None,
        sender=sender,
        tag=tag,
        origin=f"product-events:{sender}",
        origin_offset=offset,
    )


def kind_of(record: Record) -> Kind:
    return SOLUTIONS_KIND if isinstance(record, Solution) else HELP_KIND


class Matcher:
    """The mentor agent's handling without Kafka: one partition's merge and its table."""

    def __init__(self, partitions: int = 2, table: dict[str, Any] | None = None) -> None:
        self.merge = MentorMerge[Record](partitions)
        self.table: dict[str, Any] = {} if table is None else table
        self.suggestions: list[tuple[str, list[tuple[str, int, int]]]] = []
        self.applied: list[str] = []

    def read(self, kind: Kind, message: Record | MentorClock) -> None:
        if isinstance(message, MentorClock):
            self.merge.offer_clock(kind, message)
        elif not self.merge.offer(kind, message, message):
            self.apply(message, None)  # from a sender without the order: as it arrives
        for position, record in self.merge.release():
            self.apply(record, position)

    def apply(self, record: Record, position: Position | None) -> None:
        outcome = apply_once(self.table.get(record.error_class), record, position, CFG)
        if outcome is None:
            return
        self.table[record.error_class], suggested = outcome
        self.applied.append(describe(record))
        if suggested is not None:
            mentors = [(c.canonical_id, c.solved_count, c.last_solved_ms) for c in suggested.mentors]
            self.suggestions.append((suggested.request.event_id, mentors))


def describe(record: Record) -> str:
    if isinstance(record, Solution):
        return f"solution {record.solver_canonical_id}@{record.tag}"
    return f"request {record.canonical_id}@{record.tag}"


def clock(sender: int, at_ms: int | None, idle: bool = False) -> MentorClock:
    return MentorClock(senders=[sender], at_ms=[at_ms], idle=[idle])


def test_channels_rank_every_solution_before_every_help_request() -> None:
    assert channels(2) == [
        "solutions<-join:0",
        "solutions<-join:1",
        "help-requests<-join:0",
        "help-requests<-join:1",
    ]


def test_a_help_request_that_arrives_first_waits_for_the_earlier_solution() -> None:
    m = Matcher()
    # Join partition 1's failure at 200 arrives before join partition 0's answer at 100.
    m.read(HELP_KIND, request(1, 200, 7, "nina"))
    m.read(HELP_KIND, clock(0, 50))
    m.read(SOLUTIONS_KIND, clock(1, 201))
    assert m.applied == []  # join partition 0's solutions: never heard of
    m.read(SOLUTIONS_KIND, solution(0, 100, 3, "ivy"))
    assert m.applied == []  # its help-request channel is still at 50
    m.read(HELP_KIND, clock(0, 300))
    assert m.applied == ["solution ivy@100"]  # join partition 0 may send another solution at 100
    m.read(SOLUTIONS_KIND, clock(0, 300))
    assert m.applied == ["solution ivy@100", "request nina@200"]
    assert m.suggestions == [("e1-7", [("ivy", 1, 100)])]


def test_at_one_tag_solutions_go_before_help_requests_whatever_the_join_partition() -> None:
    m = Matcher()
    m.read(HELP_KIND, request(0, 100, 1, "nina"))
    m.read(SOLUTIONS_KIND, solution(1, 100, 2, "ivy"))
    for sender in (0, 1):
        for kind in (SOLUTIONS_KIND, HELP_KIND):
            m.read(kind, clock(sender, 101))
    assert m.applied == ["solution ivy@100", "request nina@100"]
    assert m.suggestions == [("e0-1", [("ivy", 1, 100)])]


def test_an_idle_join_partition_holds_no_one_back_and_one_never_heard_of_holds_everything() -> None:
    m = Matcher()
    m.read(SOLUTIONS_KIND, solution(0, 100, 1, "ivy"))
    m.read(SOLUTIONS_KIND, clock(1, 500))
    m.read(HELP_KIND, clock(0, 500))
    assert m.applied == []  # join partition 1's help requests: never heard of
    m.read(HELP_KIND, clock(1, None, idle=True))
    assert m.applied == ["solution ivy@100"]


def test_a_record_carries_its_senders_watermark() -> None:
    m = Matcher()
    for kind, sender in ((SOLUTIONS_KIND, 1), (HELP_KIND, 0), (HELP_KIND, 1)):
        m.read(kind, clock(sender, 1_000))
    late = solution(0, 100, 1, "ivy")
    late.clock_ms = 900
    m.read(SOLUTIONS_KIND, late)
    m.read(HELP_KIND, request(1, 800, 2, "nina"))
    # Released: solutions<-join:0 is at 900, past the failure at 800.
    assert m.applied == ["solution ivy@100", "request nina@800"]


def test_a_copy_is_applied_once_whether_re_sent_or_read_again_after_a_restart() -> None:
    m = Matcher()
    first, second = solution(0, 100, 1, "ivy"), solution(0, 200, 2, "olga")
    m.read(SOLUTIONS_KIND, first)
    m.read(SOLUTIONS_KIND, first)  # re-sent by a restarted join
    m.read(SOLUTIONS_KIND, second)
    for kind, sender in ((SOLUTIONS_KIND, 1), (HELP_KIND, 0), (HELP_KIND, 1)):
        m.read(kind, clock(sender, 150))
    assert m.applied == ["solution ivy@100"]  # the others may still send one before 200
    # The matcher restarts: its memory is gone, its table is not; both are read again.
    again = Matcher(table=m.table)
    for kind, sender in ((SOLUTIONS_KIND, 1), (HELP_KIND, 0), (HELP_KIND, 1)):
        again.read(kind, clock(sender, 1_000))
    again.read(SOLUTIONS_KIND, first)
    again.read(SOLUTIONS_KIND, second)
    again.read(SOLUTIONS_KIND, first)
    assert again.applied == ["solution olga@200"]
    assert again.table["auth"]["solvers"]["ivy"]["count"] == 1
    assert again.table["auth"]["solvers"]["olga"]["count"] == 1


def test_another_users_record_from_an_earlier_offset_of_the_same_input_is_applied() -> None:
    """A join partition folds one user's events of an input in offset order, not every
    user's: entries of a person waiting for an identity merge are folded when it arrives,
    after other users' later entries. Their records are new, not copies."""
    m = Matcher()
    for kind in (SOLUTIONS_KIND, HELP_KIND):
        m.read(kind, clock(1, None, idle=True))
    m.read(SOLUTIONS_KIND, clock(0, 1_000))
    m.read(HELP_KIND, request(0, 100, 19, "ivy"))
    m.read(HELP_KIND, request(0, 100, 16, "nina"))  # waited for nina's merge
    assert m.applied == ["request ivy@100", "request nina@100"]
    # The same after a restart: the table's marks do not take nina's for a copy either.
    again = Matcher(table={})
    for kind in (SOLUTIONS_KIND, HELP_KIND):
        again.read(kind, clock(1, None, idle=True))
    again.read(SOLUTIONS_KIND, clock(0, 1_000))
    again.read(HELP_KIND, request(0, 100, 19, "ivy"))
    restarted = Matcher(table=again.table)
    for kind in (SOLUTIONS_KIND, HELP_KIND):
        restarted.read(kind, clock(1, None, idle=True))
    restarted.read(SOLUTIONS_KIND, clock(0, 1_000))
    restarted.read(HELP_KIND, request(0, 100, 19, "ivy"))  # read again: applied before
    restarted.read(HELP_KIND, request(0, 100, 16, "nina"))
    assert restarted.applied == ["request nina@100"]
    assert sorted(restarted.table["auth"]["errors"]) == ["ivy", "nina"]


def test_a_late_record_of_a_new_input_offset_is_applied_late_not_dropped() -> None:
    m = Matcher()
    for kind, sender in ((SOLUTIONS_KIND, 1), (HELP_KIND, 1)):
        m.read(kind, clock(sender, None, idle=True))
    m.read(HELP_KIND, clock(0, 1_000))
    m.read(SOLUTIONS_KIND, solution(0, 500, 4, "ivy"))
    m.read(SOLUTIONS_KIND, clock(0, 600))
    # Join partition 0 later releases an event its idle input held back: tag 300, offset 5.
    m.read(SOLUTIONS_KIND, solution(0, 300, 5, "olga"))
    assert m.applied == ["solution ivy@500", "solution olga@300"]


def test_records_without_an_order_are_applied_as_they_arrive() -> None:
    m = Matcher()
    plain = HelpRequest(
        canonical_id="nina", error_class="auth", event_id="e", occurred_at_ms=1, sent_at_ms=None
    )
    assert m.merge.offer(HELP_KIND, plain, plain) is False
    m.read(HELP_KIND, plain)  # nothing heard of any join partition: applied all the same
    assert m.applied == ["request nina@None"] and len(m.merge) == 0


# -- any interleaving, any clock reports: one sequence of suggestions ----------------------

record_specs = st.lists(
    st.tuples(
        st.booleans(),  # a solution (else a help request)
        st.integers(0, 3),  # tag step: ties are common
        st.sampled_from(["auth", "quota"]),
        st.sampled_from(["u1", "u2", "u3"]),
        st.integers(0, 2),  # how late the event is behind its tag
        st.booleans(),  # a clock report after it
        st.integers(0, 3),  # re-sent from this many records back (a restarted join), 0: none
    ),
    max_size=12,
)


def program(sender: int, specs: list[Any]) -> list[tuple[Kind, Record | MentorClock]]:
    """What one join partition sends, in its order: records in tag order, clocks, re-sends."""
    records: list[Record] = []
    tag = 0
    for i, (is_solution, step, cls, user, lag, _, _) in enumerate(specs):
        tag += step
        # One input partition: each user's events in offset order, the users' interleaved
        # in another (the join folds a person waiting for a merge after later entries).
        offset = 100 * (3 - int(user[1:])) + i
        if is_solution:
            records.append(solution(sender, tag, offset, user, cls, solved_ms=tag - lag))
        else:
            records.append(request(sender, tag, offset, user, cls, at_ms=tag - lag))
    sends: list[tuple[Kind, Record | MentorClock]] = []
    for i, (record, spec) in enumerate(zip(records, specs, strict=True)):
        sends.append((kind_of(record), record))
        for again in records[max(0, i - spec[6]) : i] if spec[6] else []:
            sends.append((kind_of(again), again))
        if spec[5] and i + 1 < len(records):
            at = records[i + 1].tag  # every record still to come is at or after it
            sends += [(SOLUTIONS_KIND, clock(sender, at)), (HELP_KIND, clock(sender, at))]
    end = clock(sender, tag + 1, idle=True)
    return [*sends, (SOLUTIONS_KIND, end), (HELP_KIND, end)]


def in_event_time_order(programs: list[list[tuple[Kind, Record | MentorClock]]]) -> list[Record]:
    """The order the records must be applied in: (tag, solutions first, join partition, the
    order that join partition sent them in)."""
    unique: dict[tuple[int | None, str | None, int], tuple[int, Record]] = {}
    for sends in programs:
        for sent, (_, r) in enumerate(sends):
            if not isinstance(r, MentorClock):
                unique.setdefault((r.sender, r.origin, r.origin_offset), (sent, r))
    return [
        r
        for _, r in sorted(
            unique.values(), key=lambda sr: (sr[1].tag, kind_of(sr[1]) == HELP_KIND, sr[1].sender, sr[0])
        )
    ]


@settings(max_examples=300, deadline=None)
@given(record_specs, record_specs, st.lists(st.integers(0, 3), max_size=80))
def test_any_arrival_order_gives_the_suggestions_of_the_event_time_order(
    first: list[Any], second: list[Any], picks: list[int]
) -> None:
    programs = [program(0, first), program(1, second)]
    # Kafka keeps each channel (one join partition, one topic) in order, nothing else.
    queues = {
        (sender, kind): deque(m for k, m in sends if k == kind)
        for sender, sends in enumerate(programs)
        for kind in (SOLUTIONS_KIND, HELP_KIND)
    }
    arrived = Matcher()
    for pick in [*picks, *range(sum(len(q) for q in queues.values()))]:
        ready = [key for key, q in queues.items() if q]
        if not ready:
            break
        key = ready[pick % len(ready)]
        arrived.read(key[1], queues[key].popleft())
    expected = Matcher()
    for record in in_event_time_order(programs):
        expected.apply(record, None)
    assert len(arrived.merge) == 0
    assert arrived.applied == expected.applied
    assert arrived.suggestions == expected.suggestions


def test_a_clock_report_whose_lists_do_not_pair_up_is_refused() -> None:
    merge = MentorMerge[str](2)
    bad = MentorClock(senders=[0, 1], at_ms=[5], idle=[False, False])
    with pytest.raises(ValueError, match="2 senders, 1 clocks and 2 idle flags"):
        merge.offer_clock(HELP_KIND, bad)


def test_a_channel_clock_never_moves_back() -> None:
    merge = MentorMerge[str](1)
    merge.report("solutions<-join:0", SourceClock(500, False))
    merge.report("solutions<-join:0", SourceClock(100, False))  # an old report, re-read
    merge.offer(HELP_KIND, request(0, 450, 1, "nina"), "r")
    assert [item for _, item in merge.release()] == ["r"]
