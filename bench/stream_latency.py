"""Send -> score latency and the rate one stream worker sustains, on the real broker.

    python -m bench.stream_latency [--rates 250 1000 2500 5000 10000] [--seconds 60] [--warmup 5]
        [--baseline-events 100000] [--skip-baseline]

Starts a local broker (and the embedded warehouse the stack brings). First, before any
worker runs, the raw ceiling: ``--baseline-events`` workload events prefilled into a
fresh topic, then a bare Python loop (consume 500 at a time, fastavro decode, per-user
decayed fold in a dict, fastavro encode, produce) timed with its own CPU. Then one stream
worker: the synthetic workload is driven at each rate for the given time (pre-encoded
events through a plain confluent-kafka producer configured as the producer SDK's, see
bench/load.py, so the load generator leaves the CPU to the worker) and engagement-scores
are read back. Latency is measured two ways: the worker's own
``emitted_at - source_sent_at`` and the reader's receive time - ``source_sent_at``
(both wall clocks of this one machine). A rate is sustained when the worker emitted a
score for at least 99% of the events within 5 s after sending stopped; each rate is
measured after a warm-up at that rate. The worker's CPU per event is read from /proc, a
figure that holds up better than rates on a machine the broker and load generator share;
Kafka messages per event counts what was written to every topic but the input topics
during the measured window (end offsets before and after), per event sent (complete when
the rate ``drained``: every event scored before the drain timed out). Worker capacity is the highest
drain rate measured; ``ratio_to_baseline`` is that over the raw loop's events/s.
Figures are printed and recorded in bench/results/stream_latency.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from rich.console import Console
from rich.table import Table

from bench.load import Prepared, Sender, end_offsets, prepare, raw_loop, written_between
from bench.results import record
from foundation.settings import Settings
from infra.stack import LocalStack, wait_for_group
from producers.workload import WorkloadConfig, generate
from schemas.catalog import SchemaCatalog
from schemas.models import Event, IdentityLink
from schemas.serde import AvroSerde
from schemas.topics import COMMUNITY_EVENTS, ENGAGEMENT_SCORES, PRODUCT_EVENTS

PROMISE_MS = 150  # send -> score, p99


def quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "n": 0}
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1], "n": len(ordered)}


class ScoreReader(threading.Thread):
    """Reads engagement-scores as they come, recording both latencies per score."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.serde = AvroSerde(SchemaCatalog.load())
        self.consumer = Consumer(
            {
                **settings.kafka.confluent_config(),
                "group.id": f"bench-{uuid.uuid4()}",
                "auto.offset.reset": "latest",
                "fetch.wait.max.ms": 5,
                # No offset commits: the reader must not add to the messages counted per event.
                "enable.auto.commit": False,
            }
        )
        self.consumer.subscribe([settings.topics.name(ENGAGEMENT_SCORES)])
        self.worker_ms: list[float] = []
        self.reader_ms: list[float] = []
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop_flag.is_set():
            msg = self.consumer.poll(0.05)
            if msg is None or msg.error():
                continue
            received = datetime.now(UTC)
            score: Any = self.serde.decode(msg.value(), topic=msg.topic() or "")
            if score.source_sent_at is None:
                continue
            with self.lock:
                self.worker_ms.append((score.emitted_at - score.source_sent_at).total_seconds() * 1000)
                self.reader_ms.append((received - score.source_sent_at).total_seconds() * 1000)
        self.consumer.close()

    def take(self) -> tuple[list[float], list[float]]:
        with self.lock:
            worker, reader = self.worker_ms, self.reader_ms
            self.worker_ms, self.reader_ms = [], []
        return worker, reader

    def count(self) -> int:
        with self.lock:
            return len(self.worker_ms)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc), to report CPU per event."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workload(count: int, seed: int) -> list[Event]:
    """The first ``count`` product and community events of a synthetic workload."""
    # About 3 events per user and simulated day: enough users that the workload lasts.
    users = max(200, count // 200)
    events: list[Event] = []
    for event in generate(WorkloadConfig(users=users, days=90, seed=seed)):
        if not isinstance(event, IdentityLink):
            events.append(event)
        if len(events) >= count:
            break
    return events


def run_baseline(settings: Settings, count: int) -> dict[str, Any]:
    catalog = SchemaCatalog.load()
    return raw_loop(settings, catalog, prepare(workload(count, seed=99), settings, catalog, source="bench"))


def run_rate(
    settings: Settings,
    reader: ScoreReader,
    sender: Sender,
    rate: int,
    seconds: int,
    seed: int,
    warmup: int,
    worker_pid: int,
) -> dict[str, Any]:
    warm, wanted = rate * warmup, rate * seconds
    events: list[Prepared] = prepare(
        workload(warm + wanted, seed), settings, SchemaCatalog.load(), source="bench"
    )
    inputs = {settings.topics.name(PRODUCT_EVENTS), settings.topics.name(COMMUNITY_EVENTS)}
    # Warm-up, not measured: first sends to each partition fetch metadata, the worker's
    # stores and caches fill; the figures below are for the steady state.
    if warm:
        reader.take()
        sender.send(events[:warm], rate)
        deadline = time.monotonic() + 30
        while reader.count() < warm and time.monotonic() < deadline:
            time.sleep(0.1)
        events = events[warm:]
    reader.take()
    offsets_before = end_offsets(settings, exclude=inputs)
    cpu_before = cpu_seconds(worker_pid)
    started = time.perf_counter()
    send_seconds = sender.send(events, rate)
    deadline = time.monotonic() + 5
    while reader.count() < len(events) and time.monotonic() < deadline:
        time.sleep(0.1)
    caught_up = reader.count()
    deadline = time.monotonic() + 60  # drain the backlog to measure what was queued
    while reader.count() < len(events) and time.monotonic() < deadline:
        time.sleep(0.2)
    drained_seconds = time.perf_counter() - started
    worker_cpu = cpu_seconds(worker_pid) - cpu_before
    worker, seen = reader.take()
    written = written_between(offsets_before, end_offsets(settings, exclude=inputs))
    return {
        "rate": rate,
        "events": len(events),
        "send_seconds": round(send_seconds, 2),
        "achieved_send_eps": round(len(events) / send_seconds, 1),
        "scores_within_5s_of_sending": caught_up,
        "sustained": caught_up >= 0.99 * len(events),
        # Every event scored before the 60 s drain ended: only then are the per-event
        # message counts below complete.
        "drained": len(worker) >= len(events),
        "worker_throughput_eps": round(len(worker) / drained_seconds, 1),
        # CPU the worker spent per scored event: comparable across runs on a busy machine.
        "worker_cpu_ms_per_event": round(1000 * worker_cpu / max(len(worker), 1), 3),
        "worker_cpu_share": round(worker_cpu / drained_seconds, 2),
        # Everything written to Kafka but the inputs (outputs, repartitions, changelogs,
        # offset commits), per event sent: what the worker moves through the broker.
        "kafka_messages_per_event": round(sum(written.values()) / len(events), 2),
        "kafka_messages_by_topic": written,
        "worker_emit_ms": quantiles(worker),
        "reader_receive_ms": quantiles(seen),
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    sustained = [r for r in results if r["sustained"]]
    overloaded = [r["worker_throughput_eps"] for r in results if not r["sustained"]]
    return {
        "highest_sustained_rate": max((r["rate"] for r in sustained), default=None),
        "highest_rate_within_promise": max(
            (r["rate"] for r in sustained if r["reader_receive_ms"]["p99"] <= PROMISE_MS), default=None
        ),
        # Under overload the worker runs flat out: its drain rate is its capacity.
        "capacity_eps_when_overloaded": max(overloaded, default=None),
    }


def print_table(console: Console, title: str, results: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    cols = (
        "rate",
        "sustained",
        "worker eps",
        "CPU ms/event",
        "msgs/event",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
    )
    for col in cols:
        table.add_column(col, justify="right")
    for r in results:
        q = r["reader_receive_ms"]
        table.add_row(
            str(r["rate"]),
            "yes" if r["sustained"] else "no",
            f"{r['worker_throughput_eps']:.0f}",
            f"{r['worker_cpu_ms_per_event']:.2f}",
            f"{r['kafka_messages_per_event']:.2f}",
            *(f"{q[k]:.1f}" for k in ("p50", "p95", "p99", "max")),
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # From where one worker keeps the promise today up to the throughput targets.
    parser.add_argument("--rates", type=int, nargs="+", default=[250, 1000, 2500, 5000, 10000])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5, help="Seconds driven at each rate before measuring.")
    parser.add_argument(
        "--baseline-events", type=int, default=100_000, help="Events the raw consume-fold-produce loop runs."
    )
    parser.add_argument("--skip-baseline", action="store_true", help="Measure the worker only.")
    parser.add_argument("--store", default="rocksdb://")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--linger-ms", type=int, default=None, help="Override the worker's producer linger.")
    parser.add_argument("--fetch-wait-ms", type=int, default=None, help="Override the worker's fetch wait.")
    parser.add_argument("--fetch-min-bytes", type=int, default=None, help="Override the worker's fetch size.")
    args = parser.parse_args(argv)
    console = Console()
    worker_conf: dict[str, Any] = {"store": args.store}
    overrides = {
        "producer_linger_ms": args.linger_ms,
        "consumer_fetch_max_wait_ms": args.fetch_wait_ms,
        "consumer_fetch_min_bytes": args.fetch_min_bytes,
    }
    worker_conf.update({k: v for k, v in overrides.items() if v is not None})
    base = Settings(topics={"partitions": args.partitions}, worker=worker_conf)
    results: list[dict[str, Any]] = []
    baseline: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp, LocalStack(Path(tmp), base) as stack:
        s = stack.settings
        if not args.skip_baseline:
            # Before the worker starts, so neither it nor the score reader share the CPU.
            console.print(f"raw loop over {args.baseline_events} prefilled events ...")
            baseline = run_baseline(s, args.baseline_events)
            console.print(
                f"raw loop: {baseline['eps']:.0f} events/s, "
                f"{baseline['cpu_ms_per_event']:.3f} ms CPU per event"
            )
        worker = stack.worker()
        wait_for_group(s, s.topics.name(s.worker.app_id), 1, [worker])
        assert worker.pid is not None
        reader = ScoreReader(s)
        reader.start()
        sender = Sender(s)
        time.sleep(2)
        for i, rate in enumerate(args.rates):
            console.print(f"driving {rate} events/s for {args.seconds}s ...")
            results.append(
                run_rate(
                    s,
                    reader,
                    sender,
                    rate,
                    args.seconds,
                    seed=100 + i,
                    warmup=args.warmup,
                    worker_pid=worker.pid,
                )
            )
        reader.stop_flag.set()
        del sender  # its librdkafka threads go before the broker does
    print_table(
        console, f"send -> score latency, one worker ({args.store}, {args.partitions} partitions)", results
    )
    summary = summarize(results)
    # The highest drain rate measured: at or above saturation it is what the worker can do.
    capacity = max((r["worker_throughput_eps"] for r in results), default=None)
    ratio = round(capacity / baseline["eps"], 4) if capacity and baseline else None
    console.print(
        f"highest rate sustained: {summary['highest_sustained_rate'] or 'none'} events/s; "
        f"within the {PROMISE_MS} ms promise at p99: {summary['highest_rate_within_promise'] or 'none'}; "
        f"capacity under overload: {summary['capacity_eps_when_overloaded'] or '-'} events/s"
    )
    if baseline is not None:
        console.print(
            f"worker capacity {capacity} events/s = {ratio} of the raw loop's {baseline['eps']:.0f} events/s"
        )
    path = record(
        "stream_latency",
        {
            "store": args.store,
            "partitions": args.partitions,
            "producer_linger_ms": base.worker.producer_linger_ms,
            "seconds_per_rate": args.seconds,
            "warmup_seconds": args.warmup,
            "consumer_fetch_max_wait_ms": base.worker.consumer_fetch_max_wait_ms,
            "consumer_fetch_min_bytes": base.worker.consumer_fetch_min_bytes,
            "baseline_eps": baseline["eps"] if baseline else None,
            "worker_capacity_eps": capacity,
            "ratio_to_baseline": ratio,
            "baseline": baseline,
            "summary": summary,
            "results": results,
        },
    )
    console.print(f"recorded in {path}")


if __name__ == "__main__":
    main()
