"""A load generator cheap enough to drive a worker at 10,000 events/s, and the raw loop.

The producer SDK validates and copies a pydantic model per send (about 130 us per event),
which at high rates takes the CPU the worker under test needs. Here each event's Avro
record dict, key and topic are built once, before the clock starts; sending only stamps
``sent_at`` and encodes the record as the SDK's serde would without a registry (Avro
single-object: C3 01 + the catalog's fingerprint + fastavro body), then hands it to a
plain confluent-kafka producer with the SDK's producer configuration.

``raw_loop`` is the ceiling the worker is compared with: a bare Python loop on the same
broker and the same workload bytes (consume 500 at a time, fastavro decode, per-user
decayed fold in a dict, fastavro encode, produce).
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from foundation.settings import Settings
from foundation.topic_admin import ensure_topics
from producers.sdk import message_key, producer_config
from schemas.catalog import SchemaCatalog
from schemas.models import Event
from schemas.serde import SINGLE_OBJECT_MAGIC
from schemas.topics import base_topic_for

BATCH = 500
HALF_LIFE_MS = 14 * 24 * 3600 * 1000
# The raw loop's one output per event: user, decayed score, event time.
_OUTPUT_SCHEMA = parse_schema(
    {
        "type": "record",
        "name": "RawScore",
        "namespace": "bench",
        "fields": [
            {"name": "user", "type": "string"},
            {"name": "score", "type": "double"},
            {"name": "at", "type": "long"},
        ],
    }
)


def _millis(value: Any) -> Any:
    """Datetimes as epoch millis (what timestamp-millis holds), so encoding skips the conversion."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: _millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_millis(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Prepared:
    """One event ready to send: only ``record["sent_at"]`` changes at send time."""

    topic: str
    key: bytes
    header: bytes  # single-object magic + the writer schema's fingerprint
    schema: Any  # fastavro-parsed writer schema
    record: dict[str, Any]


def prepare(
    events: Iterable[Event], settings: Settings, catalog: SchemaCatalog, source: str
) -> list[Prepared]:
    """Topic, key and Avro record of each event, as the producer SDK would send it."""
    out = []
    for event in events:
        entry = catalog.schema(event.avro_name)
        record = _millis(event.to_avro())
        record["source"] = event.source or source
        out.append(
            Prepared(
                topic=settings.topics.name(base_topic_for(type(event))),
                key=message_key(event),
                header=SINGLE_OBJECT_MAGIC + entry.fingerprint,
                schema=entry.parsed,
                record=record,
            )
        )
    return out


def encode(p: Prepared, sent_at_ms: int) -> bytes:
    """The Kafka value for ``p`` stamped with ``sent_at_ms`` (epoch milliseconds)."""
    p.record["sent_at"] = sent_at_ms
    buf = io.BytesIO()
    buf.write(p.header)
    schemaless_writer(buf, p.schema, p.record)
    return buf.getvalue()


class Sender:
    """A confluent-kafka producer configured as the SDK's; counts failed deliveries."""

    def __init__(self, settings: Settings, client_id: str = "bench") -> None:
        self.failed = 0
        self._producer = Producer(
            {
                **producer_config(settings, client_id),
                # Reports for failures only: no Python callback per delivered event.
                "delivery.report.only.error": True,
                "on_delivery": self._delivered,
            }
        )

    def _delivered(self, err: Any, _msg: Any) -> None:
        self.failed += 1

    def _produce(self, topic: str, value: bytes, key: bytes) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key)
                return
            except BufferError:  # local queue full: wait for deliveries (backpressure)
                self._producer.poll(0.05)

    def send(self, events: Sequence[Prepared], rate: float, topic: str | None = None) -> float:
        """Send ``events`` at ``rate`` per second (0: as fast as possible), flush; return seconds."""
        produce, poll, now_ns = self._produce, self._producer.poll, time.time_ns
        started = time.perf_counter()
        i, n = 0, len(events)
        while i < n:
            # Everything due by now goes out in one go; pacing by schedule, so no drift.
            due = n if rate <= 0 else min(n, int((time.perf_counter() - started) * rate) + 1)
            if i >= due:
                time.sleep(max(0.0, started + i / rate - time.perf_counter()))
                continue
            while i < due:
                p = events[i]
                produce(topic or p.topic, encode(p, now_ns() // 1_000_000), p.key)
                i += 1
            poll(0)
        remaining = self._producer.flush(60)
        if remaining or self.failed:
            raise RuntimeError(f"{remaining} events undelivered after 60 s, {self.failed} deliveries failed")
        return time.perf_counter() - started


def end_offsets(settings: Settings, exclude: set[str]) -> dict[str, int]:
    """Messages ever written to each topic (sum of its partitions' end offsets), but ``exclude``."""
    conf = settings.kafka.confluent_config()
    metadata = AdminClient(conf).list_topics(timeout=10)
    consumer = Consumer({**conf, "group.id": f"bench-offsets-{uuid.uuid4()}"})
    try:
        totals: dict[str, int] = {}
        for name, topic in metadata.topics.items():
            if name in exclude or topic.error is not None:
                continue
            totals[name] = sum(
                consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
                for p in topic.partitions
            )
        return totals
    finally:
        consumer.close()


def written_between(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Messages written per topic between two ``end_offsets`` readings (new topics from 0)."""
    return {t: n - before.get(t, 0) for t, n in sorted(after.items()) if n != before.get(t, 0)}


def raw_loop(settings: Settings, catalog: SchemaCatalog, events: Sequence[Prepared]) -> dict[str, Any]:
    """Prefill ``events`` into a fresh topic, then time the bare consume-fold-produce loop."""
    run = uuid.uuid4().hex[:8]
    source, sink = settings.topics.name(f"bench-raw-in-{run}"), settings.topics.name(f"bench-raw-out-{run}")
    ensure_topics(
        settings.kafka, [source, sink], settings.topics.partitions, settings.topics.replication_factor
    )
    prefill = Sender(settings, "bench-raw-prefill")
    prefill.send(events, 0, topic=source)
    del prefill  # its librdkafka threads must not count in this process's CPU below
    # The workload is written with the current schemas: no resolution, as the serde's usual case.
    writers = {v.fingerprint: v.parsed for v in catalog.current.values()}
    consumer = Consumer(
        {
            **settings.kafka.confluent_config(),
            "group.id": f"bench-raw-{run}",
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer(producer_config(settings, "bench-raw"))
    consumer.subscribe([source])
    try:
        batch: list[Any] = []
        while not batch:  # group join and assignment are not part of the loop's cost
            batch = consumer.consume(BATCH, 1.0)
        state: dict[bytes, tuple[float, int]] = {}
        n, total = 0, len(events)
        cpu0, t0 = time.process_time(), time.perf_counter()
        while True:
            for msg in batch:
                if msg.error():
                    continue
                value, key = cast(bytes, msg.value()), cast(bytes, msg.key())
                record: Any = schemaless_reader(io.BytesIO(value[10:]), writers[value[2:10]], None)
                at = int(record["occurred_at"].timestamp() * 1000)
                prev = state.get(key)
                if prev is None:
                    score, last = 1.0, at
                else:
                    last = max(at, prev[1])
                    score = prev[0] * 2 ** (-(last - prev[1]) / HALF_LIFE_MS) + 1.0
                state[key] = (score, last)
                out = io.BytesIO()
                schemaless_writer(out, _OUTPUT_SCHEMA, {"user": key.decode(), "score": score, "at": at})
                while True:
                    try:
                        producer.produce(sink, out.getvalue(), key)
                        break
                    except BufferError:
                        producer.poll(0.05)
                n += 1
            producer.poll(0)
            if n >= total:
                break
            batch = consumer.consume(BATCH, 5.0)
            if not batch:
                raise RuntimeError(f"raw loop: no more input after {n} of {total} events")
        producer.flush(60)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        consumer.close()
    return {
        "events": n,
        "seconds": round(seconds, 2),
        "eps": round(n / seconds, 1),
        "cpu_ms_per_event": round(1000 * cpu / n, 4),
        "users": len(state),
    }
