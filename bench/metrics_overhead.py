"""What the worker's metrics cost per event, and a scrape, in CPU time.

    python -m bench.metrics_overhead [--events 200000] [--repeat 5]

Times, in one process, the per-event bookkeeping of the worker's hot path (nothing else):
the baseline is the health board's output counter alone, as before metrics; then the same
plus what metrics added (the resolve stage's count of records read and the send -> score
latency observed into the board's bucket tally); then, for comparison, prometheus-client's
own Histogram.observe and labelled Counter.inc() in its place. Also times one scrape of a busy worker's
registry (text exposition). Best of ``--repeat`` runs. Figures are printed and recorded
in bench/results/metrics_overhead.json.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from rich.console import Console

from bench.results import record
from streams.health import LATENCY_BUCKETS, Health
from streams.metrics import worker_registry

TOPIC = "engagement-scores"


@dataclass
class Update:
    """The two fields of a score update the latency reads (plain attributes, as on the model)."""

    emitted_at: datetime
    source_sent_at: datetime | None


def updates(n: int) -> list[Any]:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return [Update(now, now - timedelta(milliseconds=5 + (i * 37) % 3000)) for i in range(n)]


def best_ns_per_event(loop: Callable[[list[Any]], None], events: list[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time_ns()
        loop(events)
        best = min(best, time.process_time_ns() - started)
    return best / len(events)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    events = updates(args.events)
    health = Health()
    inputs, outputs, latency = health.inputs, health.outputs, health.latency
    registry = CollectorRegistry()
    histogram = Histogram("h_seconds", "h", buckets=LATENCY_BUCKETS, registry=registry)
    counter = Counter("c", "c", ["topic"], registry=registry)

    def baseline(batch: list[Any]) -> None:
        for _update in batch:
            outputs[TOPIC] += 1

    def with_metrics(batch: list[Any]) -> None:
        for update in batch:
            inputs["product-events"] += 1  # the resolve stage's count of what it read
            outputs[TOPIC] += 1
            if update.source_sent_at is not None:
                latency.observe((update.emitted_at - update.source_sent_at).total_seconds())

    def with_client_histogram(batch: list[Any]) -> None:
        for update in batch:
            outputs[TOPIC] += 1
            if update.source_sent_at is not None:
                histogram.observe((update.emitted_at - update.source_sent_at).total_seconds())

    def with_client_counter(batch: list[Any]) -> None:
        for _update in batch:
            counter.labels(TOPIC).inc()

    ns = {
        name: round(best_ns_per_event(loop, events, args.repeat), 1)
        for name, loop in (
            ("baseline_health_counter", baseline),
            ("with_latency_tally", with_metrics),
            ("with_prometheus_histogram", with_client_histogram),
            ("prometheus_counter_labels_inc", with_client_counter),
        )
    }
    added = round(ns["with_latency_tally"] - ns["baseline_health_counter"], 1)
    # A busy worker's board: every topic, 2 x 8 input partitions, a dozen dead-letter reasons.
    for i in range(12):
        health.inputs[f"topic-{i}"] += i
        health.dead_letter_reasons[(f"stage-{i % 3}", f"Error{i}")] += 1
    for p in range(8):
        health.lag[("product-events", p)] = p
        health.lag[("community-events", p)] = p
    scrape_registry = worker_registry(health)
    scrapes = 200
    started = time.process_time_ns()
    for _ in range(scrapes):
        body = generate_latest(scrape_registry)
    scrape_us = round((time.process_time_ns() - started) / scrapes / 1000, 1)
    console = Console()
    for name, value in ns.items():
        console.print(f"{name:32} {value:8.1f} ns per event")
    console.print(
        f"metrics add {added} ns per scored event; a scrape costs {scrape_us} us ({len(body)} bytes)"
    )
    path = record(
        "metrics_overhead",
        {
            "events": args.events,
            "repeat": args.repeat,
            "cpu_ns_per_event": ns,
            "added_ns_per_scored_event": added,
            "scrape_cpu_us": scrape_us,
            "scrape_bytes": len(body),
        },
    )
    console.print(f"recorded in {path}")


if __name__ == "__main__":
    main()
