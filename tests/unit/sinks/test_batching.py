"""Per-partition batches: size and age bounds, sealing, order, tokens, and the backoff schedule."""

from __future__ import annotations

import pytest

from sinks.batching import Batcher, backoff_delay, dedup_token, group_token


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fill(b: Batcher, topic: str, partition: int, offsets: range, table: str = "events") -> None:
    for offset in offsets:
        b.add(topic, partition, offset, table, {"n": offset})


def test_a_partition_batch_is_sealed_at_max_messages_and_the_next_one_starts_after_it() -> None:
    b = Batcher(max_messages=3, max_seconds=60, clock=Clock())
    fill(b, "t", 0, range(10, 17))
    sealed = b.sealed()
    assert [(x.first_offset, x.last_offset, x.messages) for x in sealed] == [(10, 12, 3), (13, 15, 3)]
    assert [r["n"] for r in sealed[1].rows["events"]] == [13, 14, 15]
    assert b.buffered == 7  # 16 waits in the open batch


def test_batches_are_per_partition_and_age_seals_open_ones() -> None:
    clock = Clock()
    b = Batcher(max_messages=100, max_seconds=2.0, clock=clock)
    fill(b, "t", 0, range(0, 4))
    clock.now += 1.0
    fill(b, "t", 1, range(50, 52))
    clock.now += 1.0
    b.seal_due()
    assert [(x.topic, x.partition, x.first_offset, x.last_offset) for x in b.sealed()] == [("t", 0, 0, 3)]
    clock.now += 1.0
    b.seal_due()
    assert [x.key for x in b.sealed()] == [("t", 0), ("t", 1)]


def test_force_seals_everything_or_only_the_given_partitions() -> None:
    b = Batcher(max_messages=100, max_seconds=60, clock=Clock())
    fill(b, "a", 0, range(3))
    fill(b, "b", 2, range(3))
    b.seal_due(force=True, partitions=[("b", 2)])
    assert [x.key for x in b.sealed()] == [("b", 2)]
    b.seal_due(force=True)
    assert [x.key for x in b.sealed([("a", 0)])] == [("a", 0)]


def test_messages_without_rows_still_count_and_commit_past_them() -> None:
    b = Batcher(max_messages=2, max_seconds=60, clock=Clock())
    b.add("t", 0, 5, None, None)
    b.add("t", 0, 6, "dead_letters", {"id": "t:0:6"})
    (batch,) = b.sealed()
    assert (batch.messages, dict(batch.rows), batch.commit_offset) == (
        2,
        {"dead_letters": [{"id": "t:0:6"}]},
        7,
    )


def test_finish_forgets_the_oldest_batch_only_and_drop_forgets_a_partition() -> None:
    b = Batcher(max_messages=2, max_seconds=60, clock=Clock())
    fill(b, "t", 0, range(0, 5))
    first, second = b.sealed()
    with pytest.raises(ValueError, match="not the oldest"):
        b.finish(second)
    b.finish(first)
    assert b.buffered == 3
    assert b.drop("t", 0) == 3
    assert (b.buffered, b.partitions()) == (0, [])


def test_offsets_must_increase_within_a_partition() -> None:
    b = Batcher(max_messages=10, max_seconds=60, clock=Clock())
    fill(b, "t", 0, range(3))
    with pytest.raises(ValueError, match=r"t\[0\]: offset 1 after 2"):
        b.add("t", 0, 1, None, None)


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_messages=0"):
        Batcher(max_messages=0, max_seconds=1)


def test_tokens_are_derived_from_table_topic_partition_and_offsets() -> None:
    b = Batcher(max_messages=3, max_seconds=60, clock=Clock())
    fill(b, "p-product-by-user", 2, range(30, 33))
    (batch,) = b.sealed()
    assert batch.token("events") == "events/p-product-by-user/2/30-32"
    assert batch.token("dead_letters") == dedup_token("dead_letters", "p-product-by-user", 2, 30, 32)
    # The same messages re-read after a restart are cut the same way: same token.
    again = Batcher(max_messages=3, max_seconds=60, clock=Clock())
    fill(again, "p-product-by-user", 2, range(30, 34))
    assert again.sealed()[0].token("events") == batch.token("events")
    assert dedup_token("events", "t", 0, 0, 9) != dedup_token("events", "t", 1, 0, 9)


def test_backoff_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    assert [backoff_delay(n, 0.2, 5.0) for n in range(1, 9)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    assert backoff_delay(10_000, 0.5, 30.0) == 30.0
    with pytest.raises(ValueError, match="attempt must be >= 1"):
        backoff_delay(0, 0.2, 5.0)


def test_batches_aged_together_that_are_their_partitions_oldest_form_one_group() -> None:
    clock = Clock()
    b = Batcher(max_messages=3, max_seconds=2.0, clock=clock)
    fill(b, "t", 0, range(0, 2))
    fill(b, "t", 1, range(0, 2))
    fill(b, "u", 0, range(0, 4))  # u[0]: 0-2 sealed by count, 3 open behind it
    clock.now += 2.0
    b.seal_due()
    t0, t1 = b.sealed([("t", 0)])[0], b.sealed([("t", 1)])[0]
    u_full, u_aged = b.sealed([("u", 0)])
    assert t0.group == t1.group != 0
    assert (u_full.group, u_aged.group) == (0, 0)  # u's aged batch is not its partition's oldest
    # The group is one unit; u's batches go on their own, in their partition's order.
    assert [[(x.topic, x.partition, x.first_offset) for x in unit] for unit in b.units()] == [
        [("t", 0, 0), ("t", 1, 0)],
        [("u", 0, 0)],
        [("u", 0, 3)],
    ]
    # Limited to some partitions (a revoke), a group keeps only its members there.
    assert [[x.partition for x in unit] for unit in b.units([("t", 1)])] == [[1]]


def test_a_groups_token_is_fixed_by_its_batches() -> None:
    clock = Clock()
    b = Batcher(max_messages=100, max_seconds=1.0, clock=clock)
    fill(b, "t", 0, range(5, 7))
    fill(b, "t", 1, range(0, 1))
    clock.now += 1.0
    b.seal_due()
    (group,) = b.units()
    token = group_token("events", group)
    assert token.startswith("events/group/2/") and token == group_token("events", list(group))
    assert token != group_token("events", group[:1]) == dedup_token("events", "t", 0, 5, 6)
    assert token != group_token("events", list(reversed(group)))
    assert group_token("dead_letters", group) != token
