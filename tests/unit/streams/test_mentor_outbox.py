"""What a join partition sends the mentor matcher (streams/mentors/outbox.py): its records
in release order with their place and its watermark, and clock-only reports."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from streams.batches import ResolvedEntry
from streams.mentors.outbox import MentorOutbox
from streams.messages import HelpRequest


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int, bytes]] = []

    def produce(self, topic: str, value: bytes, key: bytes | None = None, *, partition: int) -> None:
        self.sent.append((topic, partition, value))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def outbox(producer: FakeProducer, now: Clock) -> MentorOutbox:
    return MentorOutbox(
        producer,  # type: ignore[arg-type]
        help_topic="help",
        solutions_topic="solutions",
        partitions=2,
        report_every_ms=200,
        outputs=Counter(),
        clock=now,
    )


def decoded(producer: FakeProducer) -> list[tuple[str, int, Any]]:
    """What was sent since the last call, values as the JSON they are on the wire."""
    out = [(topic, partition, json.loads(value)) for topic, partition, value in producer.sent]
    producer.sent.clear()
    return out


def entry(tag: int, offset: int) -> ResolvedEntry:
    return ResolvedEntry("product-events", 1, offset, "nina", b"", tag)


def plain_request(event_id: str) -> HelpRequest:
    return HelpRequest(
        canonical_id="nina", error_class="auth", event_id=event_id, occurred_at_ms=1, sent_at_ms=None
    )


def clocks_in(sent: list[tuple[str, int, Any]]) -> set[tuple[str, int, int, int | None, bool]]:
    """(topic, partition, join partition, at_ms, idle) of every clock-only report sent."""
    return {
        (topic, partition, *told)
        for topic, partition, v in sent
        if "senders" in v
        for told in zip(v["senders"], v["at_ms"], v["idle"], strict=True)
    }


EVERYWHERE = [(t, p) for t in ("solutions", "help") for p in (0, 1)]


def test_the_join_sends_records_with_their_place_and_its_watermark_then_clocks_where_none_went() -> None:
    producer, now = FakeProducer(), Clock()
    box = outbox(producer, now)
    box.add(1, entry(100, 7), [plain_request("a")])
    box.add(1, entry(120, 9), [plain_request("b")])
    box.send(1, 150, idle=False)
    sent = decoded(producer)
    records = [
        (t, p, v["event_id"], v["tag"], v["origin"], v["origin_offset"], v["clock_ms"])
        for t, p, v in sent
        if "event_id" in v
    ]
    target = records[0][1]
    # Both on the help topic's partition of "auth"; only the last says how far the join is.
    assert records == [
        ("help", target, "a", 100, "product-events:1", 7, None),
        ("help", target, "b", 120, "product-events:1", 9, 150),
    ]
    # Every other mentor input partition is told the watermark in a record of its own.
    assert clocks_in(sent) == {(t, p, 1, 150, False) for t, p in EVERYWHERE if (t, p) != ("help", target)}


def test_one_report_per_mentor_partition_throttled_with_what_moved_and_a_heartbeat() -> None:
    producer, now = FakeProducer(), Clock()
    box = outbox(producer, now)
    box.send(0, 100, idle=False)
    assert clocks_in(decoded(producer)) == {(t, p, 0, 100, False) for t, p in EVERYWHERE}
    now.now += 0.1
    box.send(1, 300, idle=False)
    assert decoded(producer) == []  # within report_every_ms of the last report
    now.now += 0.15
    box.send(0, 100, idle=False)
    # Join partition 1 moved (first heard of), 0 did not: one record per partition, 1 only.
    sent = decoded(producer)
    assert len(sent) == 4
    assert clocks_in(sent) == {(t, p, 1, 300, False) for t, p in EVERYWHERE}
    now.now += 0.3
    box.send(0, 200, idle=True)
    assert clocks_in(decoded(producer)) == {(t, p, 0, 200, True) for t, p in EVERYWHERE}
    now.now += 0.3
    box.send(1, 300, idle=False)
    assert decoded(producer) == []  # nothing new, each told less than a second ago
    now.now += 0.5
    box.send(1, 300, idle=False)
    # A second since join partition 1 was told: the heartbeat a restarted matcher waits for.
    assert clocks_in(decoded(producer)) == {(t, p, 1, 300, False) for t, p in EVERYWHERE}


def test_a_join_partition_given_up_is_reported_not_idle() -> None:
    producer, now = FakeProducer(), Clock()
    box = outbox(producer, now)
    box.send(0, 300, idle=True)
    decoded(producer)
    box.hand_back({0, 1})  # 1 never reported: nothing to take back
    assert clocks_in(decoded(producer)) == {(t, p, 0, 300, False) for t, p in EVERYWHERE}
