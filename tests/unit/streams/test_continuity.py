"""Records reach the agents with no hole: a fetch past records never handed over is held
back and the partition sought back to the offset due (streams/continuity.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from streams.continuity import Continuity, without_holes


@dataclass(frozen=True)
class Rec:
    offset: int


class Log:
    """A partition log read from a position, with the seeks and broker lookups asked for."""

    def __init__(self, offsets: Iterable[int], committed: int | None) -> None:
        self.offsets = sorted(offsets)
        self.committed_offset = committed
        self.seeks: list[tuple[str, int]] = []
        self.lookups = 0

    def fetch(self, tp: str, position: int, n: int) -> list[tuple[str, Rec]]:
        return [(tp, Rec(o)) for o in self.offsets if o >= position][:n]

    async def committed(self, _tp: str) -> int | None:
        self.lookups += 1
        return self.committed_offset

    async def seek(self, tp: str, offset: int) -> None:
        self.seeks.append((tp, offset))


async def _aiter(items: list[tuple[str, Rec]]) -> AsyncIterator[tuple[str, Rec]]:
    for item in items:
        yield item


def handed(continuity: Continuity, log: Log, fetch: list[tuple[str, Rec]], checked: bool = True) -> list[int]:
    async def run() -> list[int]:
        out = without_holes(_aiter(fetch), continuity, lambda _tp: checked, log.committed, log.seek)
        return [rec.offset async for _tp, rec in out]

    return asyncio.run(run())


def test_a_partition_taken_on_past_its_commit_is_sought_back_and_read_from_the_commit() -> None:
    log, c = Log(range(20), committed=5), Continuity()
    # The fetch position had got to 9: 5..8 would never be handed over.
    assert handed(c, log, log.fetch("p", 9, 4)) == []
    assert log.seeks == [("p", 5)] and log.lookups == 1 and c.seeks == 1
    # The next fetch comes from the position sought; the partition goes on from there.
    assert handed(c, log, log.fetch("p", 5, 6)) == [5, 6, 7, 8, 9, 10]
    assert handed(c, log, log.fetch("p", 11, 3)) == [11, 12, 13]
    assert log.seeks == [("p", 5)] and log.lookups == 1


def test_records_from_the_commit_on_go_through_without_a_seek() -> None:
    log, c = Log(range(10), committed=3), Continuity()
    assert handed(c, log, log.fetch("p", 3, 4)) == [3, 4, 5, 6]
    assert handed(c, log, log.fetch("p", 7, 4)) == [7, 8, 9]
    assert log.seeks == [] and c.seeks == 0


def test_a_hole_within_a_partition_holds_back_the_rest_of_its_fetch_not_other_partitions() -> None:
    log, c = Log(range(10), committed=0), Continuity()
    fetch = [
        ("p", Rec(0)),
        ("q", Rec(0)),
        ("p", Rec(1)),
        ("p", Rec(4)),
        ("q", Rec(1)),
        ("p", Rec(5)),
        ("p", Rec(2)),
    ]
    out = asyncio.run(_collect(without_holes(_aiter(fetch), c, lambda _tp: True, log.committed, log.seek)))
    # p's 4 is past 2, the offset due: 4, 5 and (stale, after it in the same fetch) 2 are held back.
    assert out == [("p", 0), ("q", 0), ("p", 1), ("q", 1)]
    assert log.seeks == [("p", 2)]


async def _collect(it: AsyncIterator[tuple[str, Rec]]) -> list[tuple[str, int]]:
    return [(tp, rec.offset) async for tp, rec in it]


def test_after_a_seek_back_the_logs_own_answer_is_taken_even_with_a_hole() -> None:
    # Offsets 3 and 4 do not exist (a transaction marker, records deleted by retention):
    # the fetch from the offset sought starts at 5, and that is accepted, not sought again.
    log, c = Log([0, 1, 2, 5, 6, 7], committed=0), Continuity()
    assert handed(c, log, log.fetch("p", 0, 3)) == [0, 1, 2]
    assert handed(c, log, log.fetch("p", 6, 2)) == []  # a stale position: 5 was never handed over
    assert log.seeks == [("p", 3)]
    assert handed(c, log, log.fetch("p", 3, 3)) == [5, 6, 7]
    assert log.seeks == [("p", 3)]
    # A later hole is checked again.
    assert handed(c, log, [("p", Rec(12))]) == []
    assert log.seeks == [("p", 3), ("p", 8)]


def test_redelivered_records_go_through_and_do_not_move_the_offset_due_back() -> None:
    log, c = Log(range(10), committed=0), Continuity()
    assert handed(c, log, log.fetch("p", 0, 6)) == [0, 1, 2, 3, 4, 5]
    # Faust seeks to the committed offset (after a rebalance): records from there come again.
    c.moved("p", 2)
    assert handed(c, log, log.fetch("p", 2, 8)) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert log.seeks == []


def test_records_fetched_before_fausts_seek_are_held_back_when_they_jump_past_it() -> None:
    log, c = Log(range(30), committed=0), Continuity()
    assert handed(c, log, log.fetch("p", 0, 3)) == [0, 1, 2]
    c.moved("p", 10)  # Faust sought to 10; a fetch made before that arrives from 20
    assert handed(c, log, log.fetch("p", 20, 3)) == []
    assert log.seeks == [("p", 10)]


def test_a_partition_with_no_commit_takes_its_first_record_as_it_comes() -> None:
    log, c = Log(range(5, 10), committed=None), Continuity()
    assert handed(c, log, log.fetch("p", 5, 5)) == [5, 6, 7, 8, 9]
    assert log.seeks == []


def test_revoked_partitions_are_asked_for_again_when_taken_on() -> None:
    log, c = Log(range(10), committed=0), Continuity()
    assert handed(c, log, log.fetch("p", 0, 5)) == [0, 1, 2, 3, 4]
    c.forget(["p"])
    log.committed_offset = 3  # another worker had it meanwhile and committed 3
    assert handed(c, log, log.fetch("p", 3, 2)) == [3, 4]
    assert log.lookups == 2 and log.seeks == []


def test_unchecked_partitions_pass_untouched() -> None:
    log, c = Log([0, 4, 9], committed=0), Continuity()
    assert handed(c, log, log.fetch("changelog", 0, 3), checked=False) == [0, 4, 9]
    assert log.seeks == [] and log.lookups == 0
