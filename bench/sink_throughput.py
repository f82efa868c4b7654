"""Sink throughput Kafka -> ClickHouse, its two baselines, and send -> queryable freshness.

    python -m bench.sink_throughput [--rows 500000] [--only-throughput | --only-freshness]
        [--rate 1000] [--seconds 20] [--path both|pipeline|sink] [--batch-max-seconds S]
        [--poll-interval 0.1]

Throughput: starts a broker and the embedded warehouse, prefills the sink's topics with
``--rows`` mixed records (resolved product and community events, identity links, score
updates, relationship edges, churn triggers: unique ids, single-object encoded as the
workers write them), then times one in-process sink loading them all, from its first
message to its last acknowledged insert: rows/s, the sink's CPU per row (this process)
and the warehouse's (its process, from /proc). In the same run, two baselines on the
same records: a plain fastavro decode loop, and the same decoded rows inserted by a
plain clickhouse-connect columnar insert (``column_oriented=True``, the sink's batch
size, no Kafka) into a second database.

Freshness (bench/sink_freshness.py), twice: the full stack (broker, warehouse, one
stream worker, the sink as a process with its settings) with the synthetic workload sent
through the producer SDK at ``--rate`` events/s for ``--seconds`` (``freshness_ms``), and
resolved events produced straight to the sink's topics at that rate, no worker
(``sink_freshness_ms``). A reader polls the warehouse every ``--poll-interval`` seconds
for the rows of the last 10 s and records when each sampled event became queryable
(p50/p99 of send -> queryable); from the rows themselves, ``sent_at`` -> ``ingested_at``
(stamped just before the insert: the wait without the insert's own time), the inserts
per second, the parts left and the sink's and warehouse's CPU shares.

Figures are printed and recorded in bench/results/sink_throughput.json (a partial run
keeps the other part's figures from the last full run).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader
from rich.console import Console

from bench.results import RESULTS_DIR, record
from bench.sink_freshness import freshness
from bench.sink_workload import encoded, prefill
from bench.stream_latency import cpu_seconds
from foundation.settings import Settings, load_settings
from infra.stack import LocalStack
from schemas.catalog import SchemaCatalog
from sinks.columnar import ColumnDecoder
from sinks.migrate import apply_migrations
from sinks.rows import COLUMNS
from sinks.runner import SINK_TOPICS, Sink
from sinks.writer import ClickHouseWriter

console = Console()
NAME = "sink_throughput"
FRESHNESS_RATE = 1000.0  # freshness_ms is measured at this rate; others go to freshness_runs only


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


def main(argv: Sequence[str] | None = None) -> None:
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
    parser.add_argument(
        "--poll-interval", type=float, default=0.1, help="freshness: seconds between the reader's queries"
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--only-throughput", action="store_true")
    only.add_argument("--only-freshness", action="store_true")
    args = parser.parse_args(argv)
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
            fresh = freshness(
                args.rate, args.seconds, settings, through_worker, poll_interval=args.poll_interval
            )
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
