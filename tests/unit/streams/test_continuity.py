"""A partition's records reach an agent without a hole, or the worker stops."""

from __future__ import annotations

import pytest

from streams.continuity import Continuity
from streams.errors import Action, classify
from streams.exceptions import SkippedRecordsError

T = "user-event-batches"


def test_records_from_the_committed_offset_in_order_and_redeliveries_go_through() -> None:
    c = Continuity()
    assert not c.knows(T, 1)
    c.start(T, 1, 10)
    assert c.knows(T, 1)
    for offset in (10, 11, 12):
        c.check(T, 1, offset)
    c.check(T, 1, 11)  # read again after a rebalance: the agent's own checks skip it
    c.check(T, 1, 13)


def test_a_record_past_the_next_one_due_stops_the_worker_naming_what_was_skipped() -> None:
    c = Continuity()
    c.start(T, 0, 381)
    with pytest.raises(SkippedRecordsError) as caught:
        c.check(T, 0, 390)  # a new owner handed records from past the group's commit
    assert caught.value.expected == 381 and caught.value.offset == 390
    assert "user-event-batches[0]@390: records 381..389" in str(caught.value)
    assert classify(caught.value) is Action.FATAL
    c.check(T, 0, 381)  # the restarted worker reads them
    c.check(T, 0, 382)
    with pytest.raises(SkippedRecordsError):
        c.check(T, 0, 384)


def test_a_partition_taken_on_again_starts_from_its_commit_and_one_without_a_commit_from_anywhere() -> None:
    c = Continuity()
    c.start(T, 0, 5)
    c.check(T, 0, 5)
    c.check(T, 0, 6)
    c.forget(0)
    assert not c.knows(T, 0)
    c.start(T, 0, 3)
    c.check(T, 0, 3)  # from the commit again, not from where this worker was
    c.start(T, 1, None)  # nothing committed: no claim about the first record
    c.check(T, 1, 40)
    c.check(T, 1, 41)
    with pytest.raises(SkippedRecordsError):
        c.check(T, 1, 43)
