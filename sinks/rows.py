"""Records to warehouse rows (pure): which table, and the row as a column -> value dict."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from schemas import models

COMMUNITY = "orbitstream.community"
# Typed columns of the events table that only some event types fill: every row has all of
# them, so one insert can carry events of every type.
EVENT_DEFAULTS: dict[str, Any] = {
    "feature": "", "is_key_feature": False, "status_code": 0, "error_class": "", "plan_change": "",
    "to_plan": "", "mrr_cents": 0, "ticket_id": "", "resolution": "", "support_topic": "", "post_id": "",
    "is_question": False, "tags": [], "community": "", "is_teammate": False, "step_index": 0, "total_steps": 0,
}


def _payload_columns(event: models.Event) -> dict[str, Any]:
    p = getattr(event, "payload", None)
    columns: dict[str, Any] = {}
    for name in ("feature", "is_key_feature", "status_code", "ticket_id", "resolution", "post_id",
                 "is_question", "tags", "community", "is_teammate", "step_index", "total_steps", "mrr_cents"):
        value = getattr(p, name, None)
        if value is not None:
            columns[name] = value
    if isinstance(event, models.ApiCall):
        columns["error_class"] = event.payload.error_class or ""
    if isinstance(event, models.PlanChanged):
        columns["plan_change"] = event.payload.change.value
        columns["to_plan"] = event.payload.to_plan or ""
    if isinstance(event, models.SupportTicketOpened):
        columns["support_topic"] = event.payload.topic or ""
    return columns


def event_row(event: models.Event, topic: str, partition: int, offset: int, now: datetime) -> dict[str, Any]:
    payload = getattr(event, "payload", None)
    return {
        "event_id": event.event_id,
        "event_type": type(event).__name__,
        "area": "community" if event.avro_name.startswith(COMMUNITY) else "product",
        "occurred_at": event.occurred_at,
        "sent_at": event.sent_at,
        "source": event.source,
        "provider": event.identity.provider.value,
        "external_id": event.identity.external_id,
        "canonical_id": event.canonical_id or "",
        **EVENT_DEFAULTS,
        **_payload_columns(event),
        "payload": json.dumps(payload.model_dump(mode="json") if payload is not None else {}, sort_keys=True),
        "kafka_topic": topic,
        "kafka_partition": partition,
        "kafka_offset": offset,
        "ingested_at": now,
    }


def row_for(record: models.AvroModel, topic: str, partition: int, offset: int, now: datetime) -> tuple[str, dict[str, Any]]:
    """(table, row) for any record the sink loads."""
    if isinstance(record, models.IdentityLink):
        return "identity_links", {
            "link_id": record.event_id,
            "occurred_at": record.occurred_at,
            "source": record.source,
            "provider": record.identity.provider.value,
            "external_id": record.identity.external_id,
            "linked_provider": record.linked_identity.provider.value,
            "linked_external_id": record.linked_identity.external_id,
            "canonical_id": record.canonical_id or "",
            "ingested_at": now,
        }
    if isinstance(record, models.Event):
        return "events", event_row(record, topic, partition, offset, now)
    if isinstance(record, models.EngagementScoreUpdate):
        return "engagement_scores", {**record.model_dump(), "ingested_at": now}
    if isinstance(record, models.ChurnRiskTrigger):
        return "churn_triggers", {**record.model_dump(), "reason": record.reason.value, "ingested_at": now}
    if isinstance(record, models.RelationshipEdge):
        row = record.model_dump(exclude={"source_occurred_at"})
        return "relationship_edges", {**row, "kind": record.kind.value, "ingested_at": now}
    if isinstance(record, models.MentorSuggestion):
        return "mentor_suggestions", {
            "suggestion_id": record.suggestion_id,
            "canonical_id": record.canonical_id,
            "error_class": record.error_class,
            "mentors": [m.canonical_id for m in record.mentors],
            "mentor_solved_counts": [m.solved_count for m in record.mentors],
            "suggested_at": record.suggested_at,
            "source_event_id": record.source_event_id,
            "source_sent_at": record.source_sent_at,
            "emitted_at": record.emitted_at,
            "ingested_at": now,
        }
    if isinstance(record, models.IdentityMergeRefused):
        return "identity_refusals", {
            "refusal_id": record.refusal_id,
            "occurred_at": record.occurred_at,
            "provider": record.identity.provider.value,
            "external_id": record.identity.external_id,
            "linked_provider": record.linked_identity.provider.value,
            "linked_external_id": record.linked_identity.external_id,
            "reason": record.reason,
            "canonical_id": record.canonical_id or "",
            "linked_canonical_id": record.linked_canonical_id or "",
            "emitted_at": record.emitted_at,
            "ingested_at": now,
        }
    raise TypeError(f"the sink does not load {type(record).__name__} records")


def dead_letter_row(
    *,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    stage: str,
    error_class: str,
    error: str,
    key: bytes | None,
    value: bytes | None,
    failed_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """A dead letter, keyed on where the bad message came from (so re-deliveries collapse)."""
    return {
        "dead_letter_id": f"{source_topic}:{source_partition}:{source_offset}",
        "source_topic": source_topic,
        "source_partition": source_partition,
        "source_offset": source_offset,
        "stage": stage,
        "error_class": error_class,
        "error": error,
        # Bytes kept as-is in String columns (ClickHouse strings are byte arrays).
        "key": key,
        "value": value,
        "failed_at": failed_at,
        "replayed_at": None,
        "ingested_at": now,
    }
