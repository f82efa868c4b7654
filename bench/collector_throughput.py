"""Collector throughput over loopback: concurrent HTTP clients posting JSON batches.

    python -m bench.collector_throughput [--events 60000] [--batch 500] [--clients 8] [--bootstrap HOST:PORT]

Starts its own Kafka broker unless --bootstrap is given, then on fresh topics:
- the collector: ``orbitstream collect`` in its own process (uvicorn, one worker), and
  ``--clients`` concurrent httpx clients in this one posting the workload's events to
  ``POST /v1/events`` in batches of ``--batch``, bodies encoded before the clock starts.
  An event counts once its answer said accepted (Kafka acknowledged it). Latency is per
  request, from send to answer.
- the baseline, in the same run: the same events through the producer SDK's
  ``send_batch`` directly, in the same batch size, every batch handed over at once, one
  process (no HTTP, no JSON, no validation: the models are already built). Its latency is
  per batch, from hand-over to acknowledgement, so it includes the wait behind the others.
Prints events/s and request latency p50/p99, and events per CPU second of the collector
process (and of the baseline's): on a shared machine the wall-clock rate follows the load,
the CPU cost per event does not. Records them in bench/results/collector_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.results import record
from foundation.settings import Settings, to_environment
from foundation.topic_admin import ensure_topics
from infra.kafka.broker import KafkaBroker, free_port
from producers.collector.auth import hash_key
from producers.sdk import EventProducer
from producers.workload import WorkloadConfig, generate
from schemas.models import Event
from streams.topology import worker_topic_names

KEY = "bench-" + uuid.uuid4().hex


def fresh_settings(bootstrap: str, port: int) -> Settings:
    settings = Settings(
        kafka={"bootstrap_servers": bootstrap},
        topics={"prefix": f"bench-{uuid.uuid4().hex[:6]}-"},
        collector={"api_keys": {"bench": hash_key(KEY)}, "port": port, "max_batch_events": 5000},
    )
    ensure_topics(settings.kafka, worker_topic_names(settings), settings.topics.partitions)
    return settings


def json_form(event: Event) -> dict[str, Any]:
    return {"type": type(event).__name__, **event.model_dump(mode="json", exclude={"sent_at"})}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(url: str, bodies: list[bytes], clients: int) -> tuple[int, list[float], float]:
    """Post every body with ``clients`` concurrent connections: (accepted, latencies, seconds)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    accepted = 0
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}

    async def client() -> None:
        nonlocal accepted
        async with httpx.AsyncClient(timeout=60) as http:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                r = await http.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if r.status_code != 200:
                    raise RuntimeError(f"collector answered {r.status_code}: {r.text[:300]}")
                accepted += r.json()["accepted"]

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return accepted, latencies, time.perf_counter() - started


def start_collector(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **to_environment(settings)}
    log = (workdir / "collector.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orbitstream", "collect", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{settings.collector.port}/ready", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"collector did not become ready; see {workdir / 'collector.log'}")


def _timer(sent: float, latencies: list[float]) -> Callable[[Future[Any]], None]:
    """Runs on the SDK's delivery thread once the whole batch is acknowledged."""

    def done(_: Future[Any]) -> None:
        latencies.append(time.perf_counter() - sent)

    return done


def baseline(settings: Settings, events: list[Event], batch: int) -> dict[str, float]:
    """Every batch handed to the SDK at once (its most in flight), each timed to its acknowledgement."""
    latencies: list[float] = []
    started = time.perf_counter()
    with EventProducer(settings, source="bench") as producer:
        for i in range(0, len(events), batch):
            future = producer.send_batch(events[i : i + batch])
            future.add_done_callback(_timer(time.perf_counter(), latencies))
    seconds = time.perf_counter() - started  # close() above waited for every delivery
    return _figures(len(events), seconds, latencies)


def _figures(n: int, seconds: float, latencies: list[float]) -> dict[str, float]:
    return {
        "events": n,
        "seconds": round(seconds, 3),
        "events_per_s": round(n / seconds, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "requests": len(latencies),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args(argv)
    console = Console()
    events: list[Event] = []
    for event in generate(WorkloadConfig(users=2000, days=90, seed=1)):
        events.append(event)
        if len(events) >= args.events:
            break
    bodies = [
        json.dumps({"events": [json_form(e) for e in events[i : i + args.batch]]}).encode()
        for i in range(0, len(events), args.batch)
    ]
    load_before = round(os.getloadavg()[0], 2)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-collector-")))
        bootstrap = args.bootstrap or stack.enter_context(KafkaBroker(tmp / "kafka")).bootstrap_servers
        settings = fresh_settings(bootstrap, free_port())
        proc = start_collector(settings, tmp)
        try:
            url = f"http://127.0.0.1:{settings.collector.port}/v1/events"
            cpu_before = cpu_seconds(proc.pid)
            accepted, latencies, seconds = asyncio.run(drive(url, bodies, args.clients))
            cpu = cpu_seconds(proc.pid) - cpu_before
        finally:
            proc.terminate()
            proc.wait(30)
        if accepted != len(events):
            raise RuntimeError(f"{accepted} of {len(events)} events accepted")
        collector = _figures(accepted, seconds, latencies)
        cpu_started = time.process_time()
        base = baseline(fresh_settings(bootstrap, 0), events, args.batch)
        base_cpu = time.process_time() - cpu_started
    # On a shared machine wall-clock rates follow the load; CPU time per event does not.
    collector["cpu_seconds"] = round(cpu, 3)
    collector["events_per_cpu_s"] = round(accepted / cpu, 1)
    base["cpu_seconds"] = round(base_cpu, 3)
    base["events_per_cpu_s"] = round(len(events) / base_cpu, 1)
    ratio = round(collector["events_per_s"] / base["events_per_s"], 3)
    console.print(
        f"[bold]collector: {collector['events_per_s']:.0f} events/s, request p50 "
        f"{collector['latency_p50_ms']} ms p99 {collector['latency_p99_ms']} ms "
        f"({args.clients} clients, batches of {args.batch}); SDK send_batch baseline "
        f"{base['events_per_s']:.0f} events/s (p50 {base['latency_p50_ms']} ms per batch): {ratio}x; "
        f"per CPU second: collector {collector['events_per_cpu_s']:.0f}, "
        f"baseline {base['events_per_cpu_s']:.0f}[/]"
    )
    path = record(
        "collector_throughput",
        {
            "batch": args.batch,
            "clients": args.clients,
            "collector": collector,
            "baseline_sdk_send_batch": base,
            "ratio_to_baseline": ratio,
            "target_events_per_s": 10_000,
            # The machine is shared: the load the figures were measured under.
            "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        },
    )
    console.print(f"recorded in {path}")


if __name__ == "__main__":
    main()
