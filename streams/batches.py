"""Many resolved events in one record on the join's internal hop (``user-event-batches``).

Faust's per-record path (fetch in aiokafka, stream iteration, acks) costs about half a
millisecond of worker CPU per record whatever the agent does; the join receives one
record per destination partition per resolved batch instead of one per event. Each entry
keeps where its event was read (topic, partition, offset): that position, exact because
one identity's events sit in order on one partition, is what makes folding an event into
user state idempotent under redelivery (activity/join.py). Each entry also carries its
event-time tag, and each record the sending stage's clocks of the source partitions it
reads: what the join needs to fold events in one order whatever the arrival order
(streams/ordering.py). A record with no entries is just that report.

The framing is a small Avro record of the workers' own (not part of the public contract).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
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
                            {"name": "tag", "type": "long"},
                            {"name": "canonical_id", "type": "string"},
                            {"name": "value", "type": "bytes"},
                            {"name": "kind", "type": "int"},
                            {"name": "sub", "type": "int"},
                        ],
                    },
                },
            },
            {
                "name": "clocks",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "SourceClock",
                        "fields": [
                            {"name": "source", "type": "string"},
                            {"name": "at_ms", "type": ["null", "long"]},
                            {"name": "idle", "type": "boolean"},
                        ],
                    },
                },
            },
        ],
    }
)


class EntryKind(IntEnum):
    """What an entry asks of the user ``canonical_id`` names."""

    EVENT = 0  # fold this event (value: its Avro bytes, canonical id set)
    MERGE_OUT = 1  # an identity link: hand this id's activity to its person (value: Marker)
    MERGE_EXPECT = 2  # an identity link: this person receives a merged id's activity (value: Marker)
    INTERACTION = 3  # someone interacted with this user (value: Interaction JSON)


# Entries one source record may give rise to (the event, its far end; a link's markers):
# their place in the source's order is offset * SUBS + sub.
SUBS = 8


@dataclass(frozen=True, slots=True)
class ResolvedEntry:
    """One entry for user ``canonical_id``; for an event, ``value`` is its Avro bytes with
    that id set."""

    topic: str
    partition: int
    offset: int
    canonical_id: str
    value: bytes
    # The largest event time of its source partition up to and including it.
    tag: int = 0
    kind: EntryKind = EntryKind.EVENT
    sub: int = 0

    @property
    def source(self) -> str:
        """The input partition this entry comes from, as user state records it."""
        return f"{self.topic}:{self.partition}"

    @property
    def sequence(self) -> int:
        """Its place among its source's entries."""
        return self.offset * SUBS + self.sub


@dataclass(frozen=True, slots=True)
class SourceClock:
    """What a resolve stage reports for one source partition it reads."""

    at_ms: int | None  # the tag it has reached; None: nothing read from it yet
    idle: bool  # read to its end and quiet: it holds no one back


@dataclass(frozen=True, slots=True)
class ResolvedBatch:
    entries: list[ResolvedEntry]
    clocks: dict[str, SourceClock]


def encode_batch(entries: list[ResolvedEntry], clocks: Mapping[str, SourceClock]) -> bytes:
    buf = io.BytesIO()
    record: dict[str, Any] = {
        "entries": [
            {
                "topic": e.topic,
                "partition": e.partition,
                "offset": e.offset,
                "tag": e.tag,
                "canonical_id": e.canonical_id,
                "value": e.value,
                "kind": int(e.kind),
                "sub": e.sub,
            }
            for e in entries
        ],
        "clocks": [{"source": s, "at_ms": c.at_ms, "idle": c.idle} for s, c in clocks.items()],
    }
    schemaless_writer(buf, _SCHEMA, record)
    return buf.getvalue()


def decode_batch(data: bytes) -> ResolvedBatch:
    record: Any = schemaless_reader(io.BytesIO(data), _SCHEMA, None)
    return ResolvedBatch(
        [
            ResolvedEntry(
                e["topic"],
                e["partition"],
                e["offset"],
                e["canonical_id"],
                e["value"],
                e["tag"],
                EntryKind(e["kind"]),
                e["sub"],
            )
            for e in record["entries"]
        ],
        {c["source"]: SourceClock(c["at_ms"], c["idle"]) for c in record["clocks"]},
    )


def chunk_entries(entries: list[ResolvedEntry], limit: int) -> list[list[ResolvedEntry]]:
    """Consecutive runs of entries whose record stays under ``limit`` bytes (roughly)."""
    chunks: list[list[ResolvedEntry]] = [[]]
    size = 0
    for entry in entries:
        entry_size = len(entry.value) + len(entry.canonical_id) + len(entry.topic) + 32
        if chunks[-1] and size + entry_size > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return chunks
