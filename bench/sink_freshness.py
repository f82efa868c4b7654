"""Send -> queryable freshness for bench/sink_throughput.py: through the stream worker or
straight to the sink's topics, polled in the warehouse, with the insert rate and CPU shares."""

from __future__ import annotations

import io
import itertools
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from fastavro import schemaless_writer
from rich.console import Console

from bench.sink_workload import templates
from bench.stream_latency import cpu_seconds, quantiles
from foundation.settings import Settings
from infra.stack import LocalStack, wait_for_group
from producers.sdk import EventProducer
from producers.workload import WorkloadConfig, generate, paced
from schemas import models
from schemas.catalog import SchemaCatalog
from schemas.serde import SINGLE_OBJECT_MAGIC
from sinks.migrate import apply_migrations

console = Console()


class Visibility(threading.Thread):
    """Polls the warehouse for sampled event ids; records send -> first seen, in ms."""

    def __init__(self, client: Any, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.interval = interval
        self.pending: dict[str, float] = {}
        self.seen_ms: list[float] = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.error: str | None = None

    def expect(self, event_id: str, sent: float) -> None:
        with self.lock:
            self.pending[event_id] = sent

    def run(self) -> None:
        try:
            self._poll()
        except Exception as exc:  # reported by freshness(), never a silent dead thread
            self.error = f"{type(exc).__name__}: {exc}"

    def _poll(self) -> None:
        while not self.stop_flag.wait(self.interval):
            with self.lock:
                ids = list(self.pending)
            if not ids:
                continue
            # Only the rows of the last seconds, matched here: a query that stays cheap (the
            # engine runs one query at a time, so a costly poll would delay the inserts).
            found = self.client.query(
                "SELECT event_id FROM events WHERE ingested_at >= now64(3) - INTERVAL 10 SECOND"
            ).result_rows
            now = time.time()
            with self.lock:
                for (event_id,) in found:
                    sent = self.pending.pop(event_id, None)
                    if sent is not None:
                        self.seen_ms.append(1000 * (now - sent))


def send_resolved(
    settings: Settings, rate: float, wanted: int, reader: Visibility, sample_every: int
) -> None:
    """Resolved events straight onto the sink's topics (no worker), paced: the sink's own share."""
    catalog = SchemaCatalog.load()
    producer = Producer({**settings.kafka.confluent_config(), "linger.ms": 1})
    records = itertools.cycle([r for r in templates(catalog) if r[0].endswith("-by-user")])
    run = uuid.uuid4().hex[:6]
    started = time.monotonic()
    for n in range(wanted):
        topic, name, record = next(records)
        record = {**record, "event_id": f"{run}-{n}", "sent_at": int(time.time() * 1000)}
        buf = io.BytesIO()
        buf.write(SINGLE_OBJECT_MAGIC + catalog.fingerprint(name))
        schemaless_writer(buf, catalog.parsed(name), record)
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        if n % sample_every == 0:
            reader.expect(record["event_id"], time.time())
        producer.produce(
            settings.topics.name(topic), value=buf.getvalue(), key=record["canonical_id"].encode()
        )
        producer.poll(0)
    producer.flush(30)


def freshness(
    rate: float,
    seconds: float,
    settings: Settings,
    through_worker: bool,
    sample_every: int = 5,
    poll_interval: float = 0.1,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fresh-") as tmp, LocalStack(Path(tmp), settings) as stack:
        apply_migrations(stack.warehouse.client(), stack.settings.warehouse.database)
        sink = stack.sink()
        if through_worker:
            worker = stack.worker()
            wait_for_group(
                stack.settings, stack.settings.topics.name(stack.settings.worker.app_id), 1, [worker]
            )
        wait_for_group(stack.settings, stack.settings.topics.name(stack.settings.sink.group_id), 1, [sink])
        database = stack.settings.warehouse.database
        reader = Visibility(stack.warehouse.client(database=database), poll_interval)
        reader.start()
        pids = {"sink": sink.pid, "warehouse": stack.warehouse.pid}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items() if pid is not None}
        started = time.monotonic()
        wanted = int(rate * seconds)
        sent = 0
        if not through_worker:
            send_resolved(stack.settings, rate, wanted, reader, sample_every)
        else:
            with EventProducer(stack.settings, source="bench") as producer:
                for event in paced(generate(WorkloadConfig(users=500, days=60, seed=3)), rate):
                    if sent >= wanted:
                        break
                    if sent % sample_every == 0 and not isinstance(event, models.IdentityLink):
                        reader.expect(event.event_id, time.time())
                    producer.send(event)
                    sent += 1
        deadline = time.monotonic() + 30
        while reader.pending and time.monotonic() < deadline:
            time.sleep(0.2)
        reader.stop_flag.set()
        reader.join()
        elapsed = time.monotonic() - started
        cpu = {name: (cpu_seconds(pids[name]) - c) / elapsed for name, c in cpu0.items()}  # type: ignore[arg-type]
        missing = len(reader.pending)
        client = stack.warehouse.client(database=database)
        if missing and not reader.seen_ms:
            stored = client.query("SELECT event_id FROM events LIMIT 3").result_rows
            raise RuntimeError(
                f"no sampled event became queryable ({reader.error}); stored: {stored}, "
                f"sampled: {list(reader.pending)[:3]}"
            )
        # One insert per table and batch, each stamped with its own ingested_at.
        inserts = sum(
            int(client.command(f"SELECT uniqExact(ingested_at) FROM {table}"))
            for table in (
                "events",
                "identity_links",
                "engagement_scores",
                "relationship_edges",
                "churn_triggers",
            )
        )
        parts = int(
            client.command(f"SELECT count() FROM system.parts WHERE database = '{database}' AND active")
        )
        # sent_at -> ingested_at (stamped just before the insert): the wait without the insert.
        waited = client.query(
            "SELECT quantiles(0.5, 0.99)(toUnixTimestamp64Milli(ingested_at) - "
            "toUnixTimestamp64Milli(sent_at)) FROM events WHERE sent_at IS NOT NULL"
        ).result_rows[0][0]
        # The same once running (the first 2 s include the consumer's first fetches).
        steady = client.query(
            "SELECT quantiles(0.5, 0.99)(toUnixTimestamp64Milli(ingested_at) - "
            "toUnixTimestamp64Milli(sent_at)) FROM events "
            "WHERE sent_at >= (SELECT min(sent_at) FROM events) + INTERVAL 2 SECOND"
        ).result_rows[0][0]
    q = quantiles(reader.seen_ms)
    return {
        "path": "producer SDK -> worker -> sink" if through_worker else "resolved events -> sink",
        "rate_events_per_s": rate,
        "seconds": seconds,
        "sampled": len(reader.seen_ms) + missing,
        "not_seen_within_30s": missing,
        "p50": round(q["p50"]),
        "p95": round(q["p95"]),
        "p99": round(q["p99"]),
        "max": round(q["max"]),
        "poll_interval_ms": round(1000 * reader.interval),
        "batch_max_seconds": settings.sink.batch_max_seconds,
        "sent_to_ingested_at_ms": {"p50": round(waited[0]), "p99": round(waited[1])},
        "sent_to_ingested_at_after_2s_ms": {"p50": round(steady[0]), "p99": round(steady[1])},
        "inserts_per_s": round(inserts / elapsed, 1),
        "active_parts_at_end": parts,
        "warehouse_cpu_share": round(cpu.get("warehouse", 0.0), 2),
        "sink_cpu_share": round(cpu.get("sink", 0.0), 2),
    }
