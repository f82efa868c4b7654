"""Sink throughput Kafka -> ClickHouse, its two baselines, and send -> queryable freshness.

    python -m bench.sink_throughput [--rows 500000] [--only-throughput | --only-freshness]
                                    [--rate 1000] [--seconds 20]

Throughput: starts a broker and the embedded warehouse, prefills the sink's topics with
``--rows`` mixed records (resolved product and community events, identity links, score
updates, relationship edges, churn triggers: unique ids, single-object encoded as the
workers write them), then times one in-process sink loading them all, from its first
message to its last acknowledged insert: rows/s, the sink's CPU per row (this process)
and the warehouse's (its process, from /proc). In the same run, two baselines on the
same records: a plain fastavro decode loop, and the same decoded rows inserted by a
plain clickhouse-connect columnar insert (``column_oriented=True``, the sink's batch
size, no Kafka) into a second database.

Freshness: the full stack (broker, warehouse, one stream worker, the sink as a process
with its default settings), the synthetic workload sent through the producer SDK at
``--rate`` events/s for ``--seconds``; a reader polls the warehouse every 20 ms for a
sample of the sent events and records when each became queryable (p50/p99 of send ->
queryable, poll resolution 100 ms), and from the rows themselves ``sent_at`` ->
``ingested_at`` (stamped just before the insert: the wait in the pipeline without the
insert's own time).

Figures are printed and recorded in bench/results/sink_throughput.json (a partial run
keeps the other part's figures from the last full run).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import resource
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from fastavro import schemaless_reader, schemaless_writer
from rich.console import Console

from bench.results import RESULTS_DIR, record
from bench.stream_latency import cpu_seconds, quantiles
from infra.settings import Settings, load_settings
from infra.stack import LocalStack, wait_for_group
from producers.sdk import EventProducer
from producers.workload import WorkloadConfig, generate, paced
from schemas import models
from schemas.catalog import SchemaCatalog
from schemas.serde import SINGLE_OBJECT_MAGIC
from schemas.topics import CHURN_TRIGGERS, ENGAGEMENT_SCORES, IDENTITY_LINKS, RELATIONSHIP_EDGES
from sinks.columnar import ColumnDecoder
from sinks.migrate import apply_migrations
from sinks.rows import COLUMNS
from sinks.runner import SINK_TOPICS, Sink
from sinks.writer import ClickHouseWriter

console = Console()
NAME = "sink_throughput"
FRESHNESS_RATE = 1000.0  # freshness_ms is measured at this rate; others go to freshness_runs only


# -- the workload -----------------------------------------------------------------------
def templates(catalog: SchemaCatalog) -> list[tuple[str, str, dict[str, Any]]]:
    """(base topic, record name, Avro dict) of a few thousand realistic records of every kind."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for n, event in enumerate(generate(WorkloadConfig(users=300, days=30, seed=7))):
        if n >= 4000:
            break
        canonical = f"u-{event.identity.external_id}"
        if isinstance(event, models.IdentityLink):
            out.append((IDENTITY_LINKS, event.avro_name, event.to_avro()))
            continue
        resolved = event.model_copy(update={"canonical_id": canonical})
        area = "community" if event.avro_name.startswith("orbitstream.community.") else "product"
        out.append((f"{area}-by-user", event.avro_name, resolved.to_avro()))
        t = event.occurred_at
        score = models.EngagementScoreUpdate(
            update_id="x", canonical_id=canonical, score=12.5 + n % 7, product_score=8.0,
            community_score=4.5, orbit_level=1 + n % 4, previous_orbit_level=1 + (n + 1) % 4,
            reach=0.25 * (n % 5), is_member=n % 3 == 0,
            event_count=n, as_of=t, source_event_id=event.event_id, source_occurred_at=t, source_sent_at=t,
            emitted_at=t,
        )  # fmt: skip
        out.append((ENGAGEMENT_SCORES, score.avro_name, score.to_avro()))
        if n % 10 == 0:
            edge = models.RelationshipEdge(
                edge_id="x", from_canonical_id=canonical, to_canonical_id="u-other",
                kind=models.EdgeKind.REPLY, weight=1.0, occurred_at=t, source_event_id=event.event_id,
                source_occurred_at=t, emitted_at=t,
            )  # fmt: skip
            out.append((RELATIONSHIP_EDGES, edge.avro_name, edge.to_avro()))
        if n % 50 == 0:
            trigger = models.ChurnRiskTrigger(
                trigger_id="x", canonical_id=canonical, reason=models.ChurnReason.USAGE_DROP,
                evidence={"days_active": "2", "baseline": "9"}, episode_started_at=t, fired_at=t,
                source_event_id=event.event_id, source_occurred_at=t, emitted_at=t,
            )  # fmt: skip
            out.append((CHURN_TRIGGERS, trigger.avro_name, trigger.to_avro()))
    return out


_ID_FIELD = {
    "EngagementScoreUpdate": "update_id",
    "RelationshipEdge": "edge_id",
    "ChurnRiskTrigger": "trigger_id",
}


def encoded(catalog: SchemaCatalog, rows: int) -> Iterator[tuple[str, bytes, bytes]]:
    """(base topic, key, single-object value) of ``rows`` records with unique ids."""
    pool = templates(catalog)
    headers = {name: SINGLE_OBJECT_MAGIC + catalog.fingerprint(name) for _, name, _ in pool}
    run = uuid.uuid4().hex[:8]
    for i in range(rows):
        topic, name, record = pool[i % len(pool)]
        id_field = _ID_FIELD.get(name.rsplit(".", 1)[1], "event_id")
        record = {**record, id_field: f"{run}-{i}"}
        buf = io.BytesIO()
        buf.write(headers[name])
        schemaless_writer(buf, catalog.parsed(name), record)
        key = str(record.get("canonical_id") or record.get("event_id")).encode()
        yield topic, key, buf.getvalue()


def prefill(settings: Settings, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = Producer({**settings.kafka.confluent_config(), "linger.ms": 20, "compression.type": "lz4"})
    for topic, key, value in messages:
        while True:
            try:
                producer.produce(settings.topics.name(topic), value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120):
        raise RuntimeError("prefill: messages undelivered")


# -- throughput -------------------------------------------------------------------------
def rusage_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def baseline_decode(catalog: SchemaCatalog, values: list[bytes]) -> float:
    """Records/s of a bare fastavro decode loop (header lookup + schemaless_reader)."""
    started = time.perf_counter()
    for value in values:
        entry = catalog.by_fingerprint(value[2:10])
        assert entry is not None
        buf = io.BytesIO(value)
        buf.seek(10)
        schemaless_reader(buf, entry.parsed, None)
    return len(values) / (time.perf_counter() - started)


def baseline_insert(
    stack: LocalStack, catalog: SchemaCatalog, messages: list[tuple[str, bytes, bytes]], batch: int
) -> float:
    """Rows/s of plain clickhouse-connect columnar inserts of the same decoded rows, no Kafka."""
    database = f"baseline_{uuid.uuid4().hex[:6]}"
    client = stack.warehouse.client()
    apply_migrations(client, database)
    client = stack.warehouse.client(database=database)
    decoder = ColumnDecoder(catalog)
    per_table: dict[str, list[tuple[Any, ...]]] = {}
    for i, (topic, _, value) in enumerate(messages):
        table, values = decoder.decode(value, topic, 0, i)
        per_table.setdefault(table, []).append(values)
    now = int(time.time() * 1000)
    blocks = []
    for table, rows in per_table.items():
        names = list(COLUMNS[table])
        types = [r[1] for r in client.query(f"DESCRIBE TABLE {table}").result_rows][: len(names)]
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            columns = [list(c) for c in zip(*chunk, strict=True)] + [[now] * len(chunk)]
            blocks.append((table, names, types, columns))
    started = time.perf_counter()
    for table, names, types, columns in blocks:
        client.insert(table, columns, column_names=names, column_type_names=types, column_oriented=True,
                      settings={"async_insert": 0})  # fmt: skip
    seconds = time.perf_counter() - started
    return len(messages) / seconds


def insert_cost(
    stack: LocalStack, messages: list[tuple[str, bytes, bytes]], inserts: int = 200
) -> dict[str, Any]:
    """Warehouse CPU per small insert (50 events through the sink's writer) and the parts left."""
    database = f"cost_{uuid.uuid4().hex[:6]}"
    apply_migrations(stack.warehouse.client(), database)
    decoder = ColumnDecoder(SchemaCatalog.load())
    events = [decoder.decode(v, t, 0, i)[1] for i, (t, _, v) in enumerate(messages) if t.endswith("-by-user")]
    writer = ClickHouseWriter.from_settings(stack.settings.warehouse, database)
    pid = stack.warehouse.pid
    assert pid is not None
    before = cpu_seconds(pid)
    for n in range(inserts):
        writer.insert_values("events", events[n * 50 : (n + 1) * 50], f"cost/{n}")
    cpu_ms = 1000 * (cpu_seconds(pid) - before) / inserts
    client = stack.warehouse.client(database=database)
    parts = int(client.command(f"SELECT count() FROM system.parts WHERE database = '{database}' AND active"))
    return {"rows_per_insert": 50, "inserts": inserts, "warehouse_cpu_ms_per_insert": round(cpu_ms, 1),
            "active_parts_after": parts}  # fmt: skip


def throughput(rows: int, settings: Settings) -> dict[str, Any]:
    catalog = SchemaCatalog.load()
    console.print(f"encoding {rows} records")
    messages = list(encoded(catalog, rows))
    with tempfile.TemporaryDirectory(prefix="bench-sink-") as tmp, LocalStack(Path(tmp), settings) as stack:
        database = f"bench_{uuid.uuid4().hex[:6]}"
        apply_migrations(stack.warehouse.client(), database)
        run_settings = stack.settings.model_copy(
            update={"warehouse": stack.settings.warehouse.model_copy(update={"database": database})}
        )
        console.print("prefilling Kafka")
        prefill(run_settings, messages)
        decode_rps = baseline_decode(catalog, [m[2] for m in messages])
        console.print(f"baseline fastavro decode: {decode_rps:,.0f} records/s")
        insert_rps = baseline_insert(stack, catalog, messages, run_settings.sink.batch_max_rows)
        console.print(f"baseline columnar insert: {insert_rps:,.0f} rows/s")

        cost = insert_cost(stack, messages[:20_000])
        console.print(f"a small insert costs the warehouse {cost['warehouse_cpu_ms_per_insert']} ms of CPU")
        warehouse_pid = stack.warehouse.pid
        assert warehouse_pid is not None
        sink = Sink(run_settings, topics=SINK_TOPICS)
        marks: dict[str, float] = {}

        def done(s: Sink) -> bool:
            if "t0" not in marks and s.stats.consumed:
                marks.update(t0=time.perf_counter(), cpu0=rusage_cpu(), wh0=cpu_seconds(warehouse_pid))
            return sum(s.stats.rows.values()) >= rows

        sink.run(until=done)
        seconds = time.perf_counter() - marks["t0"]
        sink_cpu = rusage_cpu() - marks["cpu0"]
        warehouse_cpu = cpu_seconds(warehouse_pid) - marks["wh0"]
        loaded = sum(sink.stats.rows.values())
        counted = stack.warehouse.client(database=database).command(
            "SELECT (SELECT count() FROM events) + (SELECT count() FROM identity_links) + "
            "(SELECT count() FROM engagement_scores) + (SELECT count() FROM relationship_edges) + "
            "(SELECT count() FROM churn_triggers)"
        )
    if int(counted) != rows or loaded != rows:
        raise RuntimeError(f"expected {rows} rows, the sink loaded {loaded} and the tables hold {counted}")
    rps = rows / seconds
    return {
        "rows": rows,
        "rows_per_s": round(rps),
        "seconds": round(seconds, 2),
        "baseline_insert_rows_per_s": round(insert_rps),
        "ratio_to_baseline": round(rps / insert_rps, 2),
        "baseline_decode_records_per_s": round(decode_rps),
        "sink_cpu_us_per_row": round(1e6 * sink_cpu / rows, 1),
        "warehouse_cpu_us_per_row": round(1e6 * warehouse_cpu / rows, 1),
        "batch_max_rows": run_settings.sink.batch_max_rows,
        "batch_max_seconds": run_settings.sink.batch_max_seconds,
        "dead_lettered": sink.stats.dead_lettered,
        "small_insert_cost": cost,
    }


# -- freshness --------------------------------------------------------------------------
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
            found = self.client.query(
                "SELECT event_id FROM events WHERE event_id IN {ids:Array(String)}", parameters={"ids": ids}
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
    rate: float, seconds: float, settings: Settings, through_worker: bool, sample_every: int = 5
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
        reader = Visibility(stack.warehouse.client(database=database))
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=500_000, help="records to prefill and load")
    parser.add_argument("--rate", type=float, default=FRESHNESS_RATE, help="freshness: events/s sent")
    parser.add_argument("--seconds", type=float, default=20, help="freshness: how long to send")
    parser.add_argument(
        "--batch-max-seconds",
        type=float,
        default=None,
        help="freshness: the sink's setting (default: its own)",
    )
    parser.add_argument(
        "--path",
        choices=("both", "pipeline", "sink"),
        default="both",
        help="freshness: through the worker (pipeline), resolved events straight to the sink, or both",
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--only-throughput", action="store_true")
    only.add_argument("--only-freshness", action="store_true")
    args = parser.parse_args()
    sink = {} if args.batch_max_seconds is None else {"batch_max_seconds": args.batch_max_seconds}
    settings = load_settings(topics={"prefix": f"bench-{uuid.uuid4().hex[:6]}-"}, sink=sink)
    previous_path = RESULTS_DIR / f"{NAME}.json"
    previous: dict[str, Any] = json.loads(previous_path.read_text()) if previous_path.exists() else {}
    figures: dict[str, Any] = {
        k: previous[k] for k in previous if k not in ("benchmark", "recorded_at", "machine")
    }
    if not args.only_freshness:
        result = throughput(args.rows, settings)
        figures.update(result)
        console.print(
            f"[bold]sink: {result['rows_per_s']:,} rows/s ({result['ratio_to_baseline']}x the plain columnar "
            f"insert at {result['baseline_insert_rows_per_s']:,}); CPU per row: sink "
            f"{result['sink_cpu_us_per_row']} µs, warehouse {result['warehouse_cpu_us_per_row']} µs[/]"
        )
    if not args.only_throughput:
        runs = figures.setdefault("freshness_runs", {})
        for through_worker in {"both": (True, False), "pipeline": (True,), "sink": (False,)}[args.path]:
            fresh = freshness(args.rate, args.seconds, settings, through_worker)
            if args.rate == FRESHNESS_RATE and through_worker:
                figures["freshness_ms"] = fresh
            if args.rate == FRESHNESS_RATE and not through_worker:
                figures["sink_freshness_ms"] = fresh
            label = (
                f"{fresh['path']} at {args.rate:g}/s, batch_max_seconds {settings.sink.batch_max_seconds:g}"
            )
            runs[label] = fresh
            console.print(
                f"[bold]{fresh['path']}: send -> queryable at {args.rate:.0f} events/s: "
                f"p50 {fresh['p50']} ms, p99 {fresh['p99']} ms ({fresh['sampled']} sampled, "
                f"{fresh['not_seen_within_30s']} not seen)[/]"
            )
    console.print(f"recorded in {record(NAME, figures)}")


if __name__ == "__main__":
    main()
