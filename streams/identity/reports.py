"""When a resolve stage tells the join partitions its clocks without entries to send them.

Every record a stage sends the join carries its clocks (clocks.py); a join partition the
stage has nothing for hears of them in a record of their own. Such a report goes where
entries may wait on these clocks, else at most every quarter second (another stage's
entries may wait on them), and once a second regardless (a restarted join hears of every
source); never more often than ``worker.clock_report_ms``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from streams.batches import ResolvedEntry, SourceClock, encode_batch
from streams.fastout import FastProducer
from streams.health import Health


class ClockReporter:
    """What each join partition was last told and when, and the greatest tag sent to it."""

    def __init__(
        self, producer: FastProducer, topic: str, destinations: int, every_ms: int, health: Health
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.destinations = destinations
        self.every_s = every_ms / 1000
        self.health = health
        self._reported_at = 0.0
        self._told: dict[int, tuple[dict[str, SourceClock], float]] = {}
        self._sent_tag: dict[int, int] = {}

    def sent(self, destination: int, entries: list[ResolvedEntry], report: dict[str, SourceClock]) -> None:
        """``entries`` and ``report`` went to ``destination`` in a batch record."""
        self._sent_tag[destination] = max(self._sent_tag.get(destination, 0), *(e.tag for e in entries))
        if report:
            self._told[destination] = (report, time.monotonic())

    def maybe_report(self, report_now: Callable[[], dict[str, SourceClock]], sent_to: set[int]) -> None:
        """Tell the join partitions this batch sent nothing to how far the inputs are."""
        now = time.monotonic()
        if now - self._reported_at < self.every_s:
            return
        self._reported_at = now
        report = report_now()
        skip = {d for d in range(self.destinations) if d in sent_to or not self._needs(d, report, now)}
        self.send(report, skip)

    def _needs(self, destination: int, report: dict[str, SourceClock], now: float) -> bool:
        told, at = self._told.get(destination, ({}, 0.0))
        if told == report:
            return now - at >= 1.0
        tag = self._sent_tag.get(destination)
        if tag is not None:
            for source in report:
                clock = told.get(source)
                if clock is None or not clock.idle and (clock.at_ms is None or clock.at_ms <= tag):
                    return True  # entries sent there may still wait on this source
        return now - at >= 0.25

    def send(self, report: dict[str, SourceClock], skip: set[int]) -> None:
        if not report:
            return
        value = encode_batch([], report)
        now = time.monotonic()
        for destination in range(self.destinations):
            if destination not in skip:
                self.producer.produce(self.topic, value, b"clocks", partition=destination)
                self.health.outputs[self.topic] += 1
                self._told[destination] = (report, now)
