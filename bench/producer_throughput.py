"""Producer SDK throughput: 100k generated events from one process, median of 3 runs.

    python -m bench.producer_throughput [--events 100000] [--runs 3] [--bootstrap HOST:PORT]

Starts its own Kafka broker unless --bootstrap is given. Each run, on fresh topics:
- ``send``: every event through ``EventProducer.send`` (stamping, keying, Avro encoding,
  a future and a delivery report per event, idempotent producer), until every report is in;
- ``send_batch``: the same events through ``EventProducer.send_batch`` in lists of 1000;
- the baseline: a plain confluent-kafka producer (the SDK's configuration) sending the
  same events pre-encoded (the same bytes and keys), until flushed.
Prints events/s per run and the medians, and records them in
bench/results/producer_throughput.json (``median_events_per_s`` is ``send``'s,
``ratio_to_baseline`` is it over ``baseline_eps``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from rich.console import Console
from rich.progress import Progress

from bench.results import record
from foundation.settings import Settings
from foundation.topic_admin import ensure_topics
from infra.kafka.broker import KafkaBroker
from producers.sdk import EventProducer, producer_config
from producers.workload import WorkloadConfig, generate
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde
from streams.topology import worker_topic_names

BATCH = 1000


def sdk_run(settings: Settings, events: list[Any], bytes_per_event: float, batch: bool) -> dict[str, float]:
    failures: list[Exception] = []

    def count(report: Any, error: Exception | None) -> None:
        # Runs on the SDK's delivery thread: record, never raise there.
        if error is not None:
            failures.append(error)

    started = time.perf_counter()
    with EventProducer(settings, source="bench") as producer:
        if batch:
            futures = [producer.send_batch(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
        else:
            for event in events:
                producer.send(event, on_delivery=count)
    seconds = time.perf_counter() - started  # close() above waited for every delivery
    if batch:
        for future in futures:
            future.result(timeout=0)  # raises the batch's first delivery error
    if failures:
        raise RuntimeError(f"{len(failures)} deliveries failed, first: {failures[0]}")
    return _figures(len(events), seconds, bytes_per_event)


def plain_run(settings: Settings, encoded: list[tuple[str, bytes, bytes]]) -> dict[str, float]:
    """A plain confluent-kafka producer, the SDK's configuration, the same bytes: the baseline."""
    producer = Producer(producer_config(settings, "bench-plain"))
    started = time.perf_counter()
    for topic, key, value in encoded:
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(60):
        raise RuntimeError("plain producer: messages undelivered")
    seconds = time.perf_counter() - started
    return _figures(len(encoded), seconds, sum(len(v) for _, _, v in encoded) / len(encoded))


def _figures(n: int, seconds: float, bytes_per_event: float) -> dict[str, float]:
    return {
        "seconds": round(seconds, 3),
        "events_per_s": round(n / seconds, 1),
        "mb_per_s": round(bytes_per_event * n / seconds / 1e6, 2),
    }


def fresh_settings(bootstrap: str) -> Settings:
    settings = Settings(
        kafka={"bootstrap_servers": bootstrap}, topics={"prefix": f"bench-{uuid.uuid4().hex[:6]}-"}
    )
    ensure_topics(settings.kafka, worker_topic_names(settings), settings.topics.partitions)
    return settings


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args(argv)
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
    runs: dict[str, list[dict[str, float]]] = {"send": [], "send_batch": [], "baseline": []}
    with ExitStack() as stack:
        bootstrap = args.bootstrap
        if bootstrap is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-producer-")))
            bootstrap = stack.enter_context(KafkaBroker(tmp / "kafka")).bootstrap_servers
        for i in range(args.runs):
            settings = fresh_settings(bootstrap)
            runs["send"].append(sdk_run(settings, events, bytes_per_event, batch=False))
            settings = fresh_settings(bootstrap)
            runs["send_batch"].append(sdk_run(settings, events, bytes_per_event, batch=True))
            settings = fresh_settings(bootstrap)
            sdk = EventProducer(settings, source="bench", serde=serde)
            encoded = [(p.topic, p.key, p.value) for p in map(sdk.prepare, events)]
            sdk.close()
            del sdk  # its librdkafka handle goes now, not after the broker has stopped
            runs["baseline"].append(plain_run(settings, encoded))
            console.print(
                f"run {i + 1}: send {runs['send'][-1]['events_per_s']:.0f} events/s, send_batch "
                f"{runs['send_batch'][-1]['events_per_s']:.0f}, plain producer "
                f"{runs['baseline'][-1]['events_per_s']:.0f}"
            )
    median = {k: statistics.median(r["events_per_s"] for r in v) for k, v in runs.items()}
    median_mb = statistics.median(r["mb_per_s"] for r in runs["send"])
    ratio = round(median["send"] / median["baseline"], 2)
    console.print(
        f"[bold]median: send {median['send']:.0f} events/s ({median_mb:.2f} MB/s), send_batch "
        f"{median['send_batch']:.0f}, plain producer {median['baseline']:.0f}: {ratio}x the baseline "
        f"for {len(events)} events[/]"
    )
    path = record(
        "producer_throughput",
        {
            "events": len(events),
            "runs": runs["send"],
            "median_events_per_s": median["send"],
            "median_mb_per_s": median_mb,
            "batch_runs": runs["send_batch"],
            "batch_median_events_per_s": median["send_batch"],
            "baseline_runs": runs["baseline"],
            "baseline_eps": median["baseline"],
            "ratio_to_baseline": ratio,
        },
    )
    console.print(f"recorded in {path}")


if __name__ == "__main__":
    main()
