"""A partition's records reach an agent without a hole, or the worker stops."""

from __future__ import annotations

import pytest

from streams.continuity import Continuity
from streams.errors import Action, classify
from streams.exceptions import SkippedRecordsError

T = "user-event-batches"


def test_records_after_the_committed_offset_in_order_and_redeliveries_go_through() -> None:
    c = Continuity(lambda _t, _p: 10)
    for offset in (10, 11, 12):
        c.check(T, 1, offset)
    c.check(T, 1, 11)  # read again after a rebalance: the agent's own checks skip it
    c.check(T, 1, 13)


def test_a_record_past_the_next_one_due_stops_the_worker_naming_what_was_skipped() -> None:
    c = Continuity(lambda _t, _p: 236)
    with pytest.raises(SkippedRecordsError) as caught:
        c.check(T, 1, 244)  # a new owner handed records from past its committed offset
    assert caught.value.expected == 236 and caught.value.offset == 244
    assert "user-event-batches[1]@244: records 236..243" in str(caught.value)
    assert classify(caught.value) is Action.FATAL
    c.check(T, 1, 236)  # the restarted worker reads them
    c.check(T, 1, 237)
    with pytest.raises(SkippedRecordsError):
        c.check(T, 1, 239)


def test_a_partition_taken_on_again_starts_from_its_commit_and_one_without_a_commit_from_anywhere() -> None:
    committed: dict[int, int | None] = {0: 5, 1: None}
    c = Continuity(lambda _t, p: committed[p])
    c.check(T, 0, 5)
    c.check(T, 0, 6)
    c.forget(0)
    committed[0] = 3
    c.check(T, 0, 3)  # from the commit again, not from where this worker was
    c.check(T, 1, 40)  # nothing committed: no claim to check
    c.check(T, 1, 41)
    with pytest.raises(SkippedRecordsError):
        c.check(T, 1, 43)
