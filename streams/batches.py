"""Many resolved events in one record on the join's internal hop (``user-event-batches``).

Faust's per-record path (fetch in aiokafka, stream iteration, acks) costs about half a
millisecond of worker CPU per record whatever the agent does; the join receives one
record per destination partition per resolved batch instead of one per event. Each entry
keeps where its event was read (topic, partition, offset): that position, exact because
one identity's events sit in order on one partition, is what makes folding an event into
user state idempotent under redelivery (activity/join.py).

The framing is a small Avro record of the workers' own (not part of the public contract).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

_SCHEMA = parse_schema(
    {
        "type": "record",
        "name": "ResolvedBatch",
        "namespace": "orbitstream.internal",
        "fields": [
            {
                "name": "entries",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "ResolvedEntry",
                        "fields": [
                            {"name": "topic", "type": "string"},
                            {"name": "partition", "type": "int"},
                            {"name": "offset", "type": "long"},
                            {"name": "canonical_id", "type": "string"},
                            {"name": "value", "type": "bytes"},
                        ],
                    },
                },
            }
        ],
    }
)


@dataclass(frozen=True, slots=True)
class ResolvedEntry:
    """One event resolved to ``canonical_id``; ``value`` is its Avro bytes with that id set."""

    topic: str
    partition: int
    offset: int
    canonical_id: str
    value: bytes

    @property
    def source(self) -> str:
        """The input partition this event was read from, as user state records it."""
        return f"{self.topic}:{self.partition}"


def encode_batch(entries: list[ResolvedEntry]) -> bytes:
    buf = io.BytesIO()
    record: dict[str, Any] = {
        "entries": [
            {
                "topic": e.topic,
                "partition": e.partition,
                "offset": e.offset,
                "canonical_id": e.canonical_id,
                "value": e.value,
            }
            for e in entries
        ]
    }
    schemaless_writer(buf, _SCHEMA, record)
    return buf.getvalue()


def decode_batch(data: bytes) -> list[ResolvedEntry]:
    record: Any = schemaless_reader(io.BytesIO(data), _SCHEMA, None)
    return [
        ResolvedEntry(e["topic"], e["partition"], e["offset"], e["canonical_id"], e["value"])
        for e in record["entries"]
    ]
