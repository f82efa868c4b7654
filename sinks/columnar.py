"""The sink's hot path: Avro bytes straight to a table's column values (pure), no model per row.

A valid record becomes a tuple of its table's columns in :data:`sinks.rows.COLUMNS` order
(without ``ingested_at``, which the writer adds), with every time as integer milliseconds
since the epoch (what ``DateTime64(3)`` stores). The writer turns a batch of such tuples
into columns for one columnar insert.

Why it can skip the pydantic models: the schemas already fix every field's type, and
fastavro enforces them while decoding, so a model pass over a decoded record refuses
nothing the decoder accepted. What the models and :func:`sinks.rows.row_for` check
beyond types (record kinds the sink loads, the DateTime64 range) is checked here too.
Anything this path does not accept (not single-object encoded, unknown fingerprint, a
body that does not decode, trailing bytes, a record kind the sink does not load, a time
out of range) is handed back as ``None``: the router then takes the model path, which
loads it or dead-letters it with the reason, exactly as before.

fastavro reads the catalog's schemas with their ``timestamp-millis`` logical types
removed, so times come out as the integers on the wire: no datetime object per field.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastavro import parse_schema, schemaless_reader

from schemas import models
from schemas.catalog import SchemaCatalog, SchemaVersion
from schemas.serde import SINGLE_OBJECT_MAGIC
from sinks.exceptions import SinkError
from sinks.rows import _EVENT_TYPED, COLUMNS, Row

Values = tuple[Any, ...]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# DateTime64(3)'s range as rows.py checks it (1970-01-01 .. 2262-01-01), in milliseconds.
MIN_MS = 0
MAX_MS = (datetime(2262, 1, 1, tzinfo=UTC) - _EPOCH) // _MS


def is_time_column(name: str) -> bool:
    """Every time column of the sink's tables is named ``*_at`` or ``as_of``."""
    return name.endswith("_at") or name == "as_of"


def to_millis(value: datetime) -> int:
    """Epoch milliseconds; a naive datetime (as clickhouse-connect returns UTC columns) is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MS


def row_values(table: str, row: Row) -> Values:
    """A row dict of :mod:`sinks.rows` as the tuple this path makes (times in milliseconds)."""
    out: list[Any] = []
    for name in COLUMNS[table][:-1]:  # ingested_at is last and set by the writer
        value = row[name]
        if isinstance(value, datetime):
            value = to_millis(value)
        elif isinstance(value, list) and value and isinstance(value[0], datetime):
            value = [to_millis(v) for v in value]
        out.append(value)
    return tuple(out)


def _strip_logical(schema: Any) -> Any:
    """The schema with ``timestamp-millis`` removed: fastavro then returns the raw longs."""
    if isinstance(schema, dict):
        if schema.get("logicalType") == "timestamp-millis":
            return {k: _strip_logical(v) for k, v in schema.items() if k != "logicalType"}
        return {k: _strip_logical(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_strip_logical(v) for v in schema]
    return schema


class Unloadable(SinkError):
    """The fast path does not take this record; the model path decides (load or dead letter)."""


# Event payload fields -> typed columns: (column, payload field, how). "opt": None -> "";
# "ident": an optional nested Identity -> counterpart_provider/counterpart_external_id.
_PAYLOAD_COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "FeatureUsed": (("feature", "feature", ""), ("is_key_feature", "is_key_feature", "")),
    "ApiCall": (
        ("endpoint", "endpoint", ""), ("status_code", "status_code", ""),
        ("latency_ms", "latency_ms", ""), ("error_class", "error_class", "opt"),
    ),
    "SessionStarted": (("session_id", "session_id", ""), ("platform", "platform", "")),
    "PlanChanged": (
        ("plan_change", "change", ""), ("from_plan", "from_plan", "opt"),
        ("to_plan", "to_plan", "opt"), ("mrr_cents", "mrr_cents", ""),
    ),
    "SupportTicketOpened": (("ticket_id", "ticket_id", ""), ("ticket_topic", "topic", "opt")),
    "SupportTicketClosed": (("ticket_id", "ticket_id", ""), ("resolution", "resolution", "")),
    "PostCreated": (
        ("post_id", "post_id", ""), ("channel", "channel", ""),
        ("is_question", "is_question", ""), ("tags", "tags", ""),
    ),
    "ReplyCreated": (("post_id", "post_id", ""), ("reply_id", "reply_id", ""), ("", "post_author", "ident")),
    "AnswerAccepted": (
        ("post_id", "post_id", ""), ("reply_id", "reply_id", ""),
        ("tags", "tags", ""), ("", "asker", "ident"),
    ),
    "QuestionTagged": (("post_id", "post_id", ""), ("tags", "tags", "")),
    "ReactionAdded": (
        ("post_id", "post_id", ""), ("reaction", "reaction", ""), ("", "target_author", "ident"),
    ),
    "Mention": (("post_id", "post_id", ""), ("", "mentioned", "ident")),
    "MemberJoined": (("community", "community", ""), ("is_teammate", "is_teammate", "")),
    "OnboardingStepCompleted": (
        ("onboarding_step", "step", ""), ("step_index", "step_index", ""),
        ("total_steps", "total_steps", ""),
    ),
    "EventAttended": (("community_event_name", "event_name", ""), ("community_event_kind", "kind", "")),
}  # fmt: skip

_TYPED_NAMES = tuple(_EVENT_TYPED)
_TYPED_INDEX = {name: i for i, name in enumerate(_TYPED_NAMES)}
_COUNTERPART = (_TYPED_INDEX["counterpart_provider"], _TYPED_INDEX["counterpart_external_id"])


def _payload_setter(short_name: str) -> Callable[[list[Any], dict[str, Any]], None]:
    provider, external = _COUNTERPART
    spec = tuple(
        (provider if how == "ident" else _TYPED_INDEX[column], field, how)
        for column, field, how in _PAYLOAD_COLUMNS[short_name]
    )

    def fill(typed: list[Any], payload: dict[str, Any]) -> None:
        for index, field, how in spec:
            value = payload[field]
            if how == "ident":
                if value is not None:
                    typed[provider], typed[external] = value["provider"], value["external_id"]
            elif how == "opt":
                typed[index] = value or ""
            else:
                typed[index] = value

    return fill


def _dumps(payload: dict[str, Any]) -> str:
    # The same text as json.dumps(model.model_dump(mode="json"), sort_keys=True, ...).
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _checked_times(values: Values, time_positions: tuple[int, ...]) -> Values:
    for i in time_positions:
        value = values[i]
        if value is None:
            continue
        for v in value if isinstance(value, list) else (value,):
            if not MIN_MS <= v < MAX_MS:
                raise Unloadable("time out of DateTime64 range")
    return values


@dataclass(frozen=True)
class _Reader:
    table: str
    writer: Any
    reader: Any | None
    to_values: Callable[[dict[str, Any], str, int, int], Values]
    time_positions: tuple[int, ...]


class ColumnDecoder:
    """Single-object encoded bytes -> ``(table, values)``; :class:`Unloadable` for anything else."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self._catalog = catalog
        self._readers: dict[tuple[str, int | None], _Reader] = {}
        raw_current = {
            name: parse_schema(_strip_logical(v.raw), _force=True) for name, v in catalog.current.items()
        }
        versions: Iterable[SchemaVersion] = [
            *catalog.current.values(),
            *(v for vs in catalog.released.values() for v in vs),
        ]
        for version in versions:
            mapped = self._mapper(version.name)
            if mapped is None:
                continue
            table, to_values = mapped
            writer = raw_current[version.name] if version.version is None else None
            if writer is None:
                writer = parse_schema(_strip_logical(version.raw), _force=True)
            reader = None if version.version is None else raw_current[version.name]
            positions = tuple(i for i, c in enumerate(COLUMNS[table][:-1]) if is_time_column(c))
            self._readers[(version.name, version.version)] = _Reader(
                table, writer, reader, to_values, positions
            )

    @staticmethod
    def _mapper(name: str) -> tuple[str, Callable[[dict[str, Any], str, int, int], Values]] | None:
        try:
            model = models.model_for(name)
        except KeyError:
            return None
        short = name.rsplit(".", 1)[1]
        if model is models.IdentityLink:
            return "identity_links", _link_values
        if issubclass(model, models.Event):
            return "events", _event_mapper(
                short, "community" if name.startswith("orbitstream.community.") else "product"
            )
        simple = {
            models.EngagementScoreUpdate: "engagement_scores",
            models.RelationshipEdge: "relationship_edges",
            models.AccountHealth: "account_health",
        }
        if model in simple:
            return simple[model], _output_mapper(simple[model])
        if model is models.ChurnRiskTrigger:
            return "churn_triggers", _churn_values
        if model is models.MentorSuggestion:
            return "mentor_suggestions", _suggestion_values
        if model is models.IdentityMergeRefused:
            return "identity_refusals", _refusal_values
        return None  # DeadLetter records are not loaded from data topics

    def decode(self, data: bytes | None, topic: str, partition: int, offset: int) -> tuple[str, Values]:
        if not data or data[:2] != SINGLE_OBJECT_MAGIC:
            raise Unloadable("not single-object encoded")
        # The catalog decides which fingerprints name which schema version.
        version = self._catalog.by_fingerprint(data[2:10])
        entry = None if version is None else self._readers.get((version.name, version.version))
        if entry is None:
            raise Unloadable("fingerprint not loaded by the fast path")
        buf = io.BytesIO(data)
        buf.seek(10)
        try:
            record = schemaless_reader(buf, entry.writer, entry.reader)
        except Exception as exc:
            raise Unloadable(f"body does not decode: {exc}") from exc
        if buf.tell() != len(data) or not isinstance(record, dict):
            raise Unloadable("trailing bytes")
        return entry.table, _checked_times(
            entry.to_values(record, topic, partition, offset), entry.time_positions
        )


def _event_mapper(short: str, area: str) -> Callable[[dict[str, Any], str, int, int], Values]:
    fill = _payload_setter(short)
    defaults = list(_EVENT_TYPED.values())

    def values(r: dict[str, Any], topic: str, partition: int, offset: int) -> Values:
        payload = r["payload"]
        typed = defaults.copy()
        fill(typed, payload)
        ident = r["identity"]
        return (
            r["event_id"], short, area, r["occurred_at"], r["sent_at"], r["source"],
            ident["provider"], ident["external_id"], r["canonical_id"] or "",
            *typed, _dumps(payload), topic, partition, offset,
        )  # fmt: skip

    return values


def _link_values(r: dict[str, Any], topic: str, partition: int, offset: int) -> Values:
    ident, linked = r["identity"], r["linked_identity"]
    return (
        r["event_id"], r["occurred_at"], r["sent_at"], r["source"], ident["provider"], ident["external_id"],
        linked["provider"], linked["external_id"], r["canonical_id"] or "", topic, partition, offset,
    )  # fmt: skip


def _output_mapper(table: str) -> Callable[[dict[str, Any], str, int, int], Values]:
    names = COLUMNS[table][:-1]

    def values(r: dict[str, Any], topic: str, partition: int, offset: int) -> Values:
        return tuple([r[n] for n in names])

    return values


def _churn_values(r: dict[str, Any], topic: str, partition: int, offset: int) -> Values:
    return tuple([dict(r[n]) if n == "evidence" else r[n] for n in COLUMNS["churn_triggers"][:-1]])


def _suggestion_values(r: dict[str, Any], topic: str, partition: int, offset: int) -> Values:
    mentors = r["mentors"]
    return (
        r["suggestion_id"], r["canonical_id"], r["error_class"], [m["canonical_id"] for m in mentors],
        [m["solved_count"] for m in mentors], [m["last_solved_at"] for m in mentors],
        [m["orbit_level"] for m in mentors], [m["is_inner_orbit"] for m in mentors],
        [m["reason"] for m in mentors], r["suggested_at"], r["error_count"], r["first_error_at"],
        r["source_event_id"], r["source_occurred_at"], r["source_sent_at"], r["emitted_at"],
    )  # fmt: skip


def _refusal_values(r: dict[str, Any], topic: str, partition: int, offset: int) -> Values:
    ident, linked = r["identity"], r["linked_identity"]
    return (
        r["refusal_id"], r["occurred_at"], ident["provider"], ident["external_id"], linked["provider"],
        linked["external_id"], r["reason"], r["canonical_id"] or "", r["linked_canonical_id"] or "",
        r["source_event_id"], r["source_occurred_at"], r["source_sent_at"], r["emitted_at"],
    )  # fmt: skip
