"""Producer SDK throughput: 100k generated events from one process, median of 3 runs.

    python -m bench.producer_throughput [--events 100000] [--runs 3] [--bootstrap HOST:PORT]

Starts its own Kafka broker unless --bootstrap is given. Each run sends the events
through EventProducer (validation, stamping, Avro encoding, idempotent producer) and
counts until every delivery report is in. Prints events/s and MB/s per run and the
median, and records them in bench/results/producer_throughput.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench.results import record
from infra.kafka.broker import KafkaBroker
from infra.settings import Settings
from infra.topics import ensure_topics
from producers.sdk import EventProducer
from producers.workload import WorkloadConfig, generate
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde
from streams.topology import public_topic_names


def one_run(settings: Settings, events: list[Any], bytes_per_event: float) -> dict[str, float]:
    failures: list[Exception] = []

    def count(report: Any, error: Exception | None) -> None:
        # Runs on the SDK's delivery thread: record, never raise there.
        if error is not None:
            failures.append(error)

    started = time.perf_counter()
    with EventProducer(settings, source="bench") as producer:
        for event in events:
            producer.send(event, on_delivery=count)
    seconds = time.perf_counter() - started  # close() above waited for every delivery
    if failures:
        raise RuntimeError(f"{len(failures)} deliveries failed, first: {failures[0]}")
    return {
        "seconds": round(seconds, 3),
        "events_per_s": round(len(events) / seconds, 1),
        "mb_per_s": round(bytes_per_event * len(events) / seconds / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args()
    console = Console()
    events = []
    with Progress(console=console) as progress:
        task = progress.add_task("generating events", total=args.events)
        for event in generate(WorkloadConfig(users=2000, days=90, seed=1)):
            events.append(event)
            progress.advance(task)
            if len(events) >= args.events:
                break
    serde = AvroSerde(SchemaCatalog.load())
    bytes_per_event = sum(len(serde.encode(e, "t")) for e in events[:1000]) / min(len(events), 1000)
    runs = []
    with ExitStack() as stack:
        bootstrap = args.bootstrap
        if bootstrap is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-producer-")))
            bootstrap = stack.enter_context(KafkaBroker(tmp / "kafka")).bootstrap_servers
        for i in range(args.runs):
            settings = Settings(
                kafka={"bootstrap_servers": bootstrap}, topics={"prefix": f"bench-{uuid.uuid4().hex[:6]}-"}
            )
            ensure_topics(settings.kafka, public_topic_names(settings), settings.topics.partitions)
            result = one_run(settings, events, bytes_per_event)
            runs.append(result)
            console.print(
                f"run {i + 1}: {result['events_per_s']:.0f} events/s, {result['mb_per_s']:.2f} MB/s"
            )
    median = statistics.median(r["events_per_s"] for r in runs)
    median_mb = statistics.median(r["mb_per_s"] for r in runs)
    console.print(f"[bold]median: {median:.0f} events/s ({median_mb:.2f} MB/s) for {len(events)} events[/]")
    path = record(
        "producer_throughput",
        {
            "events": len(events),
            "runs": runs,
            "median_events_per_s": median,
            "median_mb_per_s": median_mb,
        },
    )
    console.print(f"recorded in {path}")


if __name__ == "__main__":
    main()
