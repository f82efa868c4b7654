"""The sink benchmark's workload: realistic records of every kind the sink loads, encoded as
the workers write them (single-object), with unique ids; and prefilling Kafka with them."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

from confluent_kafka import Producer
from fastavro import schemaless_writer

from foundation.settings import Settings
from producers.workload import WorkloadConfig, generate
from schemas import models
from schemas.catalog import SchemaCatalog
from schemas.serde import SINGLE_OBJECT_MAGIC
from schemas.topics import CHURN_TRIGGERS, ENGAGEMENT_SCORES, IDENTITY_LINKS, RELATIONSHIP_EDGES


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
