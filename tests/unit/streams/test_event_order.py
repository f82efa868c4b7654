"""The join's one event-time order across input partitions, the resolve stage's clocks, and
the refusal of events from the future."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.settings import StreamSettings
from streams.batches import SourceClock
from streams.exceptions import FutureEventError
from streams.identity.clocks import SourceClocks, decode_tag, encode_tag
from streams.identity.front import retry_until_answered
from streams.identity.future import future_problem, require_not_future
from streams.ordering import EventTimeMerge, sources_of

SOURCES = sources_of(["product-events", "community-events"], 2)


def test_sources_are_every_partition_of_both_inputs() -> None:
    assert SOURCES == ["product-events:0", "product-events:1", "community-events:0", "community-events:1"]


def test_nothing_leaves_until_every_source_has_reported() -> None:
    merge = EventTimeMerge[str](SOURCES)
    merge.add("product-events:0", 100, 0, "a")
    merge.report({"product-events:0": SourceClock(100, False), "product-events:1": SourceClock(500, False)})
    assert list(merge.release()) == []
    assert merge.watermark() is None
    merge.report(
        {"community-events:0": SourceClock(500, False), "community-events:1": SourceClock(None, True)}
    )
    # community-events:1 has read nothing but is idle (read to its end): it holds no one back.
    assert list(merge.release()) == [(100, "a")]
    assert merge.watermark() == 100  # product-events:0 may still send more at 100


def test_an_event_waits_for_a_slower_source_and_ties_go_by_source_then_offset() -> None:
    merge = EventTimeMerge[str](SOURCES)
    merge.report({s: SourceClock(0, False) for s in SOURCES})
    merge.add("community-events:1", 200, 7, "c200")
    merge.add("product-events:0", 200, 3, "p200")
    merge.add("product-events:0", 300, 4, "p300")
    # product-events:1 and community-events:0 are at 0: either may still send an event at 1.
    assert list(merge.release()) == []
    merge.report(
        {"product-events:1": SourceClock(250, False), "community-events:0": SourceClock(1_000, False)}
    )
    # Up to 250 is safe; at 200 product-events:0 sorts before community-events:1.
    assert [item for _, item in merge.release()] == ["p200", "c200"]
    assert merge.watermark() == 200  # community-events:1 may still send more at 200
    merge.report({"product-events:1": SourceClock(300, False)})
    assert list(merge.release()) == []  # community-events:1 may still send an event at 250
    merge.report({"community-events:1": SourceClock(300, False)})
    # Tag 300 from product-events:0 against clocks at 300 of sources ranked after it: it leaves.
    assert [item for _, item in merge.release()] == ["p300"]


def test_a_resent_entry_is_dropped_and_a_clock_never_moves_back() -> None:
    merge = EventTimeMerge[str](SOURCES)
    assert merge.add("product-events:0", 100, 5, "a")
    assert not merge.add("product-events:0", 100, 5, "a again")  # a resolve stage re-sent it
    assert not merge.add("product-events:0", 90, 4, "older")
    merge.report({s: SourceClock(1_000, False) for s in SOURCES})
    merge.report({"product-events:1": SourceClock(50, False)})  # a late copy of an old report
    assert [item for _, item in merge.release()] == ["a"]
    with pytest.raises(ValueError, match="not a join input partition"):
        merge.add("elsewhere:0", 1, 1, "x")


def test_when_every_source_is_idle_the_watermark_passes_the_latest_clock() -> None:
    merge = EventTimeMerge[str](SOURCES)
    merge.report({s: SourceClock(at, True) for s, at in zip(SOURCES, [10, 40, None, 20], strict=True)})
    assert merge.watermark() == 41


@st.composite
def _arrivals(draw: st.DrawFn) -> tuple[dict[str, list[int]], list[str]]:
    """Per source a sequence of tags (non-decreasing, as the resolve stage makes them), and
    an arrival order of sources (each source's entries keep their order)."""
    sequences: dict[str, list[int]] = {}
    for source in SOURCES:
        steps = draw(st.lists(st.integers(min_value=0, max_value=5), max_size=8))
        at, tags = 0, []
        for step in steps:
            at += step
            tags.append(at)
        sequences[source] = tags
    slots = [s for s, tags in sequences.items() for _ in tags]
    order = draw(st.permutations(slots))
    return sequences, list(order)


@settings(max_examples=300, deadline=None)
@given(_arrivals(), st.data())
def test_the_order_out_depends_only_on_the_entries_not_on_when_they_arrived(
    arrival: tuple[dict[str, list[int]], list[str]], data: st.DataObject
) -> None:
    sequences, order = arrival
    merge = EventTimeMerge[tuple[str, int]](SOURCES)
    sent = dict.fromkeys(SOURCES, 0)
    out: list[tuple[str, int]] = []
    for source in order:
        offset = sent[source]
        merge.add(source, sequences[source][offset], offset, (source, offset))
        sent[source] += 1
        # Any source may report at any moment how far it has been read (what was sent).
        reporter = data.draw(st.sampled_from(SOURCES))
        read = sequences[reporter][: sent[reporter]]
        merge.report({reporter: SourceClock(read[-1] if read else 0, False)})
        out.extend(item for _, item in merge.release())
    # At the end every source reports itself read to its end and idle.
    merge.report({s: SourceClock(tags[-1] if tags else None, True) for s, tags in sequences.items()})
    out.extend(item for _, item in merge.release())
    rank = {s: i for i, s in enumerate(SOURCES)}
    expected = sorted(
        ((s, o) for s, tags in sequences.items() for o in range(len(tags))),
        key=lambda so: (sequences[so[0]][so[1]], rank[so[0]], so[1]),
    )
    assert out == expected


def test_a_partitions_tag_is_the_largest_event_time_read_so_far() -> None:
    clocks = SourceClocks(idle_ms=50)
    clocks.take("p:0", at_ms=None, next_offset=10, now=0.0)
    assert clocks.tag("p:0", 10, 5_000, now=0.0) == 5_000
    assert clocks.tag("p:0", 11, 4_000, now=0.0) == 5_000  # a late event keeps its place
    assert clocks.tag("p:0", 12, None, now=0.0) == 5_000  # undecodable: no event time
    assert clocks.tag("p:0", 13, 7_000, now=0.0) == 7_000
    # Taken over from a commit that stored the tag: the next owner goes on from it.
    clocks.take("p:1", at_ms=decode_tag(encode_tag(9_000)), next_offset=3, now=0.0)
    assert clocks.tag("p:1", 3, 8_000, now=0.0) == 9_000
    assert decode_tag(encode_tag(None)) is None
    assert decode_tag("not ours") is None


def test_a_partition_is_idle_once_read_to_its_end_and_quiet() -> None:
    clocks = SourceClocks(idle_ms=50)
    clocks.take("p:0", at_ms=None, next_offset=0, now=10.0)
    clocks.tag("p:0", 0, 1_000, now=10.0)
    ends = {"p:0": 5}
    report = clocks.report(lambda s: ends[s], now=11.0)
    assert report == {"p:0": SourceClock(1_000, False)}  # offsets 1-4 still to read
    ends["p:0"] = 1
    assert clocks.report(lambda s: ends[s], now=10.01) == {"p:0": SourceClock(1_000, False)}  # not quiet yet
    assert clocks.report(lambda s: ends[s], now=10.06) == {"p:0": SourceClock(1_000, True)}
    assert clocks.report(lambda s: -1, now=20.0) == {"p:0": SourceClock(1_000, False)}  # end unknown


def test_after_the_broker_did_not_answer_quiet_is_measured_again() -> None:
    # Producers write what they buffered during an outage partition by partition: one read
    # to its end right after the outage is not idle until it has been quiet again.
    clocks = SourceClocks(idle_ms=50)
    clocks.take("p:0", at_ms=None, next_offset=0, now=10.0)
    clocks.tag("p:0", 0, 1_000, now=10.0)
    assert clocks.report(lambda s: 1, now=20.0) == {"p:0": SourceClock(1_000, True)}
    clocks.interrupted(now=20.0)
    assert clocks.report(lambda s: 1, now=20.03) == {"p:0": SourceClock(1_000, False)}
    assert clocks.report(lambda s: 1, now=20.06) == {"p:0": SourceClock(1_000, True)}
    clocks.interrupted(now=5.0)  # an older failure moves nothing back
    assert clocks.report(lambda s: 1, now=20.06) == {"p:0": SourceClock(1_000, True)}


def test_quiet_is_measured_from_when_the_broker_answered_again_not_from_before_the_call() -> None:
    # One end-offset request waits out its timeout while the broker is away (8 s here): a
    # source judged quiet since before that request was idle the moment the broker was back.
    now = [0.0]
    answers: list[dict[str, int] | None] = [None, None, {"p:0": 7}]

    def call() -> dict[str, int] | None:
        now[0] += 8.0 if answers[0] is None else 0.01
        return answers.pop(0)

    def pause(seconds: float) -> None:
        now[0] += seconds

    result, answered_at = retry_until_answered(call, lambda: False, lambda: now[0], pause)
    assert result == {"p:0": 7}
    assert answered_at == pytest.approx(16.21)
    clocks = SourceClocks(idle_ms=5000)
    clocks.take("p:0", at_ms=None, next_offset=0, now=0.0)
    clocks.tag("p:0", 6, 1_000, now=0.0)
    clocks.interrupted(answered_at)
    assert clocks.report(lambda s: 7, now=16.3) == {"p:0": SourceClock(1_000, False)}
    assert clocks.report(lambda s: 7, now=21.3) == {"p:0": SourceClock(1_000, True)}
    # Answered at once: nothing to measure again.
    assert retry_until_answered(lambda: {"p:0": 7}, lambda: False, lambda: 99.0, pause) == ({"p:0": 7}, None)


HOUR = 3_600_000
WALL = 1_772_442_000_000  # 2026-03-02T09:00:00Z


def test_an_event_further_ahead_than_the_tolerance_is_refused_with_its_reason() -> None:
    tolerance = int(StreamSettings().max_future_hours * HOUR)
    assert tolerance == 24 * HOUR
    assert future_problem(WALL + 24 * HOUR, WALL, tolerance) is None  # at the bound: accepted
    assert future_problem(WALL - 90 * 24 * HOUR, WALL, tolerance) is None  # the past is fine
    with pytest.raises(FutureEventError) as raised:
        require_not_future(WALL + 72 * HOUR, WALL, tolerance)
    assert str(raised.value) == (
        "field occurred_at 2026-03-05T09:00:00+00:00 is 72.0 h ahead of the worker's clock "
        "2026-03-02T09:00:00+00:00 (tolerance 24 h)"
    )
