"""Records to warehouse rows (pure): which table a record goes to, and its row.

Every row of a table has exactly the columns in :data:`COLUMNS` (the writer relies on
it); ``ingested_at`` is set by the writer at insert time. Timestamps must lie in
DateTime64's range and are checked here, so one odd record becomes a dead letter
instead of blocking the sink with an insert that can never succeed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from schemas import models
from sinks.exceptions import UnloadableRecordError

Row = dict[str, Any]

_MIN_TS = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TS = datetime(2262, 1, 1, tzinfo=UTC)

_EVENT_TYPED = {
    "feature": "", "is_key_feature": False, "endpoint": "", "status_code": 0, "latency_ms": 0,
    "error_class": "", "session_id": "", "platform": "", "plan_change": "", "from_plan": "", "to_plan": "",
    "mrr_cents": 0, "ticket_id": "", "ticket_topic": "", "resolution": "", "post_id": "", "reply_id": "",
    "channel": "", "is_question": False, "tags": [], "community": "", "is_teammate": False,
    "onboarding_step": "", "step_index": 0, "total_steps": 0, "reaction": "", "community_event_name": "",
    "community_event_kind": "", "counterpart_provider": "", "counterpart_external_id": "",
}  # fmt: skip
_KAFKA = ("kafka_topic", "kafka_partition", "kafka_offset")

COLUMNS: dict[str, tuple[str, ...]] = {
    "events": (
        "event_id", "event_type", "area", "occurred_at", "sent_at", "source", "provider",
        "external_id", "canonical_id", *_EVENT_TYPED, "payload", *_KAFKA, "ingested_at",
    ),
    "identity_links": (
        "link_id", "occurred_at", "sent_at", "source", "provider", "external_id", "linked_provider",
        "linked_external_id", "canonical_id", *_KAFKA, "ingested_at",
    ),
    "identity_refusals": (
        "refusal_id", "occurred_at", "provider", "external_id", "linked_provider", "linked_external_id",
        "reason", "canonical_id", "linked_canonical_id", "source_event_id", "source_occurred_at",
        "source_sent_at", "emitted_at", "ingested_at",
    ),
    "engagement_scores": (
        "update_id", "canonical_id", "score", "product_score", "community_score", "orbit_level",
        "previous_orbit_level", "reach", "is_member", "event_count", "as_of", "source_event_id",
        "source_occurred_at", "source_sent_at", "emitted_at", "ingested_at",
    ),
    "churn_triggers": (
        "trigger_id", "canonical_id", "reason", "evidence", "episode_started_at", "fired_at",
        "source_event_id", "source_occurred_at", "source_sent_at", "emitted_at", "ingested_at",
    ),
    "relationship_edges": (
        "edge_id", "from_canonical_id", "to_canonical_id", "kind", "weight", "occurred_at", "source_event_id",
        "source_occurred_at", "source_sent_at", "emitted_at", "ingested_at",
    ),
    "mentor_suggestions": (
        "suggestion_id", "canonical_id", "error_class", "mentors", "mentor_solved_counts",
        "mentor_last_solved_at", "mentor_orbit_levels", "mentor_is_inner", "mentor_reasons", "suggested_at",
        "error_count", "first_error_at", "source_event_id", "source_occurred_at", "source_sent_at",
        "emitted_at", "ingested_at",
    ),
    "account_health": (
        "health_id", "canonical_id", "health", "usage_component", "community_component", "risk_component",
        "recent_per_day", "baseline_per_day", "orbit_level", "open_risks", "plan", "plan_usage_share",
        "expansion_signal", "as_of", "source_event_id", "source_occurred_at", "source_sent_at", "emitted_at",
        "ingested_at",
    ),
    "dead_letters": (
        "dead_letter_id", "source_topic", "source_partition", "source_offset", "stage", "error_class",
        "error", "key", "value", "failed_at", "replay_of", "replayed_at", "version", *_KAFKA, "ingested_at",
    ),
}  # fmt: skip

# The deterministic id each table is keyed on.
ID_COLUMN = {
    "events": "event_id", "identity_links": "link_id", "identity_refusals": "refusal_id",
    "engagement_scores": "update_id", "churn_triggers": "trigger_id", "relationship_edges": "edge_id",
    "mentor_suggestions": "suggestion_id", "dead_letters": "dead_letter_id", "account_health": "health_id",
}  # fmt: skip


@dataclass(frozen=True)
class Source:
    """Where a record was read: kept on event rows for tracing."""

    topic: str
    partition: int
    offset: int

    def columns(self) -> Row:
        return {"kafka_topic": self.topic, "kafka_partition": self.partition, "kafka_offset": self.offset}


def _checked(row: Row, table: str) -> Row:
    for name, value in row.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, datetime) and not _MIN_TS <= v < _MAX_TS:
                raise UnloadableRecordError(f"{table}.{name} = {v.isoformat()} is outside 1970..2262")
    return row


def _identity(identity: models.Identity | None) -> tuple[str, str]:
    if identity is None:
        return "", ""
    return identity.provider.value, identity.external_id


def _event_columns(event: models.Event) -> Row:
    """The typed columns of one event type (the rest keep their defaults)."""
    c: Row = {}
    match event:
        case models.FeatureUsed(payload=p):
            c.update(feature=p.feature, is_key_feature=p.is_key_feature)
        case models.ApiCall(payload=p):
            c.update(endpoint=p.endpoint, status_code=p.status_code, latency_ms=p.latency_ms)
            c.update(error_class=p.error_class or "")
        case models.SessionStarted(payload=p):
            c.update(session_id=p.session_id, platform=p.platform)
        case models.PlanChanged(payload=p):
            c.update(plan_change=p.change.value, from_plan=p.from_plan or "", to_plan=p.to_plan or "")
            c.update(mrr_cents=p.mrr_cents)
        case models.SupportTicketOpened(payload=p):
            c.update(ticket_id=p.ticket_id, ticket_topic=p.topic or "")
        case models.SupportTicketClosed(payload=p):
            c.update(ticket_id=p.ticket_id, resolution=p.resolution)
        case models.PostCreated(payload=p):
            c.update(post_id=p.post_id, channel=p.channel, is_question=p.is_question, tags=list(p.tags))
        case models.ReplyCreated(payload=p):
            c.update(post_id=p.post_id, reply_id=p.reply_id)
            c["counterpart_provider"], c["counterpart_external_id"] = _identity(p.post_author)
        case models.AnswerAccepted(payload=p):
            c.update(post_id=p.post_id, reply_id=p.reply_id, tags=list(p.tags))
            c["counterpart_provider"], c["counterpart_external_id"] = _identity(p.asker)
        case models.QuestionTagged(payload=p):
            c.update(post_id=p.post_id, tags=list(p.tags))
        case models.ReactionAdded(payload=p):
            c.update(post_id=p.post_id, reaction=p.reaction)
            c["counterpart_provider"], c["counterpart_external_id"] = _identity(p.target_author)
        case models.Mention(payload=p):
            c["post_id"] = p.post_id
            c["counterpart_provider"], c["counterpart_external_id"] = _identity(p.mentioned)
        case models.MemberJoined(payload=p):
            c.update(community=p.community, is_teammate=p.is_teammate)
        case models.OnboardingStepCompleted(payload=p):
            c.update(onboarding_step=p.step, step_index=p.step_index, total_steps=p.total_steps)
        case models.EventAttended(payload=p):
            c.update(community_event_name=p.event_name, community_event_kind=p.kind)
    return c


def event_row(event: models.Event, source: Source) -> Row:
    """A product or community event: envelope, typed columns, the payload as JSON."""
    payload = getattr(event, "payload", None)
    area = "community" if event.avro_name.startswith("orbitstream.community.") else "product"
    return {
        "event_id": event.event_id,
        "event_type": type(event).__name__,
        "area": area,
        "occurred_at": event.occurred_at,
        "sent_at": event.sent_at,
        "source": event.source,
        "provider": event.identity.provider.value,
        "external_id": event.identity.external_id,
        "canonical_id": event.canonical_id or "",
        **_EVENT_TYPED,
        **_event_columns(event),
        "payload": json.dumps(
            payload.model_dump(mode="json") if payload is not None else {},
            sort_keys=True,
            separators=(",", ":"),
        ),
        **source.columns(),
        "ingested_at": None,
    }


def link_row(link: models.IdentityLink, source: Source) -> Row:
    return {
        "link_id": link.event_id,
        "occurred_at": link.occurred_at,
        "sent_at": link.sent_at,
        "source": link.source,
        "provider": link.identity.provider.value,
        "external_id": link.identity.external_id,
        "linked_provider": link.linked_identity.provider.value,
        "linked_external_id": link.linked_identity.external_id,
        "canonical_id": link.canonical_id or "",
        **source.columns(),
        "ingested_at": None,
    }


def _output_row(record: models.AvroModel, table: str) -> Row:
    """Output records whose fields are the table's columns, enums as their symbols."""
    row: Row = {name: getattr(record, name) for name in COLUMNS[table] if name != "ingested_at"}
    for name, value in row.items():
        if isinstance(value, Enum):
            row[name] = value.value
    row["ingested_at"] = None
    return row


def refusal_row(r: models.IdentityMergeRefused) -> Row:
    return {
        "refusal_id": r.refusal_id,
        "occurred_at": r.occurred_at,
        "provider": r.identity.provider.value,
        "external_id": r.identity.external_id,
        "linked_provider": r.linked_identity.provider.value,
        "linked_external_id": r.linked_identity.external_id,
        "reason": r.reason,
        "canonical_id": r.canonical_id or "",
        "linked_canonical_id": r.linked_canonical_id or "",
        "source_event_id": r.source_event_id,
        "source_occurred_at": r.source_occurred_at,
        "source_sent_at": r.source_sent_at,
        "emitted_at": r.emitted_at,
        "ingested_at": None,
    }


def suggestion_row(s: models.MentorSuggestion) -> Row:
    return {
        "suggestion_id": s.suggestion_id,
        "canonical_id": s.canonical_id,
        "error_class": s.error_class,
        "mentors": [m.canonical_id for m in s.mentors],
        "mentor_solved_counts": [m.solved_count for m in s.mentors],
        "mentor_last_solved_at": [m.last_solved_at for m in s.mentors],
        "mentor_orbit_levels": [m.orbit_level for m in s.mentors],
        "mentor_is_inner": [m.is_inner_orbit for m in s.mentors],
        "mentor_reasons": [m.reason for m in s.mentors],
        "suggested_at": s.suggested_at,
        "error_count": s.error_count,
        "first_error_at": s.first_error_at,
        "source_event_id": s.source_event_id,
        "source_occurred_at": s.source_occurred_at,
        "source_sent_at": s.source_sent_at,
        "emitted_at": s.emitted_at,
        "ingested_at": None,
    }


def row_for(record: models.AvroModel, source: Source) -> tuple[str, Row]:
    """(table, row) for any record the sink loads; routing is by record type, not topic."""
    table: str
    row: Row
    match record:
        case models.IdentityLink():
            table, row = "identity_links", link_row(record, source)
        case models.Event():
            table, row = "events", event_row(record, source)
        case models.EngagementScoreUpdate():
            table, row = "engagement_scores", _output_row(record, "engagement_scores")
        case models.ChurnRiskTrigger():
            table, row = "churn_triggers", _output_row(record, "churn_triggers")
            row["evidence"] = dict(record.evidence)
        case models.RelationshipEdge():
            table, row = "relationship_edges", _output_row(record, "relationship_edges")
        case models.AccountHealth():
            table, row = "account_health", _output_row(record, "account_health")
        case models.MentorSuggestion():
            table, row = "mentor_suggestions", suggestion_row(record)
        case models.IdentityMergeRefused():
            table, row = "identity_refusals", refusal_row(record)
        case _:
            raise UnloadableRecordError(f"the sink loads no {type(record).__name__} records")
    return table, _checked(row, table)


def dead_letter_id(source_topic: str, source_partition: int, source_offset: int, stage: str) -> str:
    """Where the failed message was read and which stage failed: the same message failing
    twice in one stage is one dead letter; failing in two stages (a worker and the sink)
    is two."""
    return f"{source_topic}:{source_partition}:{source_offset}:{stage}"


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
    replay_of: str,
    source: Source,
) -> Row:
    """A dead letter with the original bytes (ClickHouse Strings are byte strings)."""
    return {
        "dead_letter_id": dead_letter_id(source_topic, source_partition, source_offset, stage),
        "source_topic": source_topic,
        "source_partition": source_partition,
        "source_offset": source_offset,
        "stage": stage,
        "error_class": error_class,
        "error": error,
        "key": key,
        "value": value,
        "failed_at": failed_at,
        "replay_of": replay_of,
        "replayed_at": None,
        "version": 0,
        **source.columns(),
        "ingested_at": None,
    }


def header_map(headers: Sequence[tuple[str, bytes | None]] | None) -> Mapping[str, str]:
    """Kafka headers as text (the last value of a repeated header wins)."""
    return {k: (v or b"").decode("utf-8", errors="replace") for k, v in (headers or [])}
