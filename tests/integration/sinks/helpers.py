"""Running a sink in tests: until a condition holds, with a deadline that fails loudly."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from foundation.settings import Settings
from sinks.runner import Sink, SinkStats


def run_until(sink: Sink, done: Callable[[Sink], bool], timeout: float = 60) -> SinkStats:
    """Run ``sink`` until ``done(sink)`` and nothing is buffered; fail if that takes over ``timeout``."""
    deadline = time.monotonic() + timeout
    timed_out = False

    def finished(s: Sink) -> bool:
        nonlocal timed_out
        if time.monotonic() > deadline:
            timed_out = True
            return True
        return done(s) and s.batcher.buffered == 0

    stats = sink.run(until=finished)
    assert not timed_out, f"sink did not finish in {timeout}s: {stats}"
    return stats


def consumed(n: int) -> Callable[[Sink], bool]:
    return lambda s: s.stats.consumed >= n


def committed_and_end(settings: Settings, base_topics: list[str], partitions: int) -> tuple[int, int]:
    """(messages committed by the sink's group, messages in the topics), summed over partitions."""
    consumer = Consumer(
        {**settings.kafka.confluent_config(), "group.id": settings.topics.name(settings.sink.group_id)}
    )
    try:
        parts = [TopicPartition(settings.topics.name(t), p) for t in base_topics for p in range(partitions)]
        committed = sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
        end = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts)
        return committed, end
    finally:
        consumer.close()


def caught_up(settings: Settings, base_topics: list[str], partitions: int) -> Callable[[Sink], bool]:
    """True once the sink committed everything in ``base_topics`` (checked at most once a second)."""
    last = [0.0]

    def check(sink: Sink) -> bool:
        if sink.batcher.buffered or time.monotonic() - last[0] < 1.0:
            return False
        last[0] = time.monotonic()
        committed, end = committed_and_end(settings, base_topics, partitions)
        return committed == end

    return check
