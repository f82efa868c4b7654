"""Resolving one event in the resolve stage (front.py): decode, check, tag, resolve, send.

Each event is decoded to fastavro's dict (no model: the join builds and validates the
model once), checked (a date too far ahead is refused before it can move its partition's
clock), tagged with its partition's event-time clock, resolved against the identity map
as of that tag (linkmap.py), re-encoded with its canonical id and sent to
product-by-user / community-by-user for the sink. The far end of a reply, answer, mention
or reaction gets its relationship edge and an interaction entry for the join.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Message

from schemas.identity import identity_key
from streams.batches import EntryKind, ResolvedEntry
from streams.context import StreamContext
from streams.errors import Source, build_dead_letter
from streams.exceptions import RecordTooLargeToForward, UnexpectedRecordError
from streams.fastout import FastProducer
from streams.identity.clocks import SourceClocks
from streams.identity.future import require_not_future
from streams.identity.keys import far_end, relationship_edge
from streams.identity.linkmap import LinkMap
from streams.messages import Interaction
from streams.timeconv import to_ms

log = logging.getLogger(__name__)

# Records the stage resolves (identity links are read by linkreader.py).
EVENT_NAMESPACES = ("orbitstream.product.", "orbitstream.community.")


class EventResolver:
    """Resolves the events of the partitions a resolve stage owns."""

    def __init__(
        self,
        ctx: StreamContext,
        producer: FastProducer,
        links: LinkMap,
        clocks: SourceClocks,
        *,
        outputs: dict[str, str],
        stages: dict[str, str],
        edges: str,
        dead_letters: str,
    ) -> None:
        self.ctx = ctx
        self.producer = producer
        self.links = links
        self.clocks = clocks
        self._outputs = outputs
        self.stages = stages
        self._edges = edges
        self._dead_letters = dead_letters
        self._max_ahead_ms = int(ctx.settings.streams.max_future_hours * 3_600_000)

    def resolve(
        self, msg: Message, topic: str, partition: int, offset: int, now: float, wall_ms: int
    ) -> list[ResolvedEntry]:
        """The event's entry for its user, and one for its far end if it has one."""
        # fastavro dicts, not models: the join builds (and validates) the model once, and a
        # model here plus a copy and re-encode cost about 0.2 ms per event.
        serde = self.ctx.serde
        value = msg.value()
        name, record = serde.decode_avro(value, topic=topic, partition=partition, offset=offset)
        if not name.startswith(EVENT_NAMESPACES):
            raise UnexpectedRecordError(
                Source(topic, partition, offset), name, "a product or community event"
            )
        event_ms = to_ms(record["occurred_at"])
        # Refused before it can move its partition's clock days ahead (dead-lettered).
        require_not_future(event_ms, wall_ms, self._max_ahead_ms)
        canonical: str | None = record.get("canonical_id")
        out = self._outputs[topic]
        source = f"{topic}:{partition}"
        if canonical is None:
            identity = record["identity"]
            key = identity_key(identity["provider"], identity["external_id"])
            if msg.key() != key.encode():
                # Keyed by something else: resolve it on the partition that owns its identity
                # (its event time counts there, when it is read again).
                self.producer.produce(topic, value, key.encode(), headers=_headers(msg))
                self.clocks.tag(source, offset, None, now)
                self.ctx.health.outputs[topic] += 1
                return []
            tag = self._tag(source, offset, event_ms, now)
            canonical = self.links.resolve(key, tag)
            record["canonical_id"] = canonical
            value = serde.encode_avro(name, record, out)
        else:
            tag = self._tag(source, offset, event_ms, now)
        assert value is not None  # decode refused empty values
        if len(value) > self.ctx.settings.worker.forward_max_bytes:
            raise RecordTooLargeToForward(
                f"{topic}[{partition}]@{offset}: {name} of {len(value)} bytes is too large to forward "
                f"(worker.forward_max_bytes = {self.ctx.settings.worker.forward_max_bytes})"
            )
        self.producer.produce(out, value, canonical.encode())
        self.ctx.health.outputs[out] += 1
        entries = [ResolvedEntry(topic, partition, offset, canonical, value, tag)]
        far = far_end(name, record)
        if far is not None:
            target = self.links.resolve(far.key, tag)
            if target != canonical:  # talking to oneself is not a relationship
                edges = self._edges
                edge = relationship_edge(record, far, canonical, target, self.ctx.clock())
                self.producer.produce(edges, serde.encode(edge, edges), canonical.encode())
                self.ctx.health.outputs[edges] += 1
                direct = far.kind.value != "REACTION"
                interaction = Interaction(far.kind.value, far.ref, direct, event_ms).to_bytes()
                entries.append(
                    ResolvedEntry(
                        topic, partition, offset, target, interaction, tag, EntryKind.INTERACTION, 1
                    )
                )
        return entries

    def _tag(self, source: str, offset: int, event_ms: int, now: float) -> int:
        tag = self.clocks.tag(source, offset, event_ms, now)
        return tag if tag is not None else event_ms

    def dead_letter(self, source: Source, exc: BaseException) -> None:
        stage = self.stages.get(source.topic, "resolve")
        log.warning(
            "dead-lettering %s[%s]@%s in %s: %s", source.topic, source.partition, source.offset, stage, exc
        )
        failed_at_ms = to_ms(self.ctx.clock())
        letter = build_dead_letter(
            source, exc, stage, failed_at_ms, self.ctx.settings.worker.dead_letter_max_bytes
        )
        # A dead letter that cannot even be queued (too large for the producer) is fatal:
        # the batch's offsets are stored only after everything in it was delivered.
        self.producer.produce(self._dead_letters, letter.value, letter.key, headers=letter.headers)
        self.ctx.health.dead_lettered(stage, exc, self._dead_letters)


def _headers(msg: Message) -> list[tuple[str, bytes]]:
    headers: Any = msg.headers() or []
    return [(k, v if isinstance(v, bytes) else (v or "").encode()) for k, v in headers]
