"""Reads every partition of identity-links into the stage's identity map (linkmap.py).

Links are few (one per identity a person connects), so every resolve stage reads all of
them, from the start, with a consumer of its own outside any group (as a Faust global
table or a Kafka Streams GlobalKTable does), and applies them in one order.

*Caught up* is exact, not guessed: :meth:`LinkReader.catch_up` asks the broker for every
partition's end offset (one ListOffsets request, through an admin client: on the
consumer's own connection it would queue behind the fetch in flight), reads to it, and
only then applies what it read, in (tag, partition, offset) order. A resolve stage
catches up after it has read a batch of events and before it resolves them, so every
link written before those events is applied to them: an event is resolved as of its own
tag (linkmap.py), whatever the read timing. What can still depend on timing: a link and
an event written at the same moment (which is first is then undefined), and links of
two partitions written so close together that one catch-up sees the later-tagged one
alone (it is applied first).

Blocking (librdkafka calls): the resolve stage runs it on its reader thread.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from schemas.models import IdentityLink
from schemas.serde import AvroSerde
from streams.errors import Source, is_record
from streams.exceptions import UnexpectedRecordError
from streams.identity.future import require_not_future
from streams.identity.linkmap import LinkInput, LinkMap, LinkOutcome, link_order
from streams.identity.resolution import checked_key
from streams.timeconv import to_ms

log = logging.getLogger(__name__)


class LinkReader:
    """All identity links, read to the end on demand and applied to ``links``."""

    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        partitions: int,
        serde: AvroSerde,
        links: LinkMap,
        *,
        wall_ms: Callable[[], int],
        max_ahead_ms: int,
        group_id: str,
    ) -> None:
        self.topic = topic
        self._wall_ms = wall_ms
        self._max_ahead_ms = max_ahead_ms
        self.partitions = partitions
        self.serde = serde
        self.links = links
        self._admin_config = config
        self.admin = AdminClient(config)
        self.consumer = Consumer(
            {
                **config,
                "group.id": group_id,
                "enable.auto.commit": False,  # assigned, not subscribed: it commits nothing
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 10,
            }
        )
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        self._next = [0] * partitions  # the next offset to read, per partition
        self._started = False
        self._ends = [-1] * partitions  # end offsets at the last catch-up
        self._tag: list[int | None] = [None] * partitions  # the largest link time read
        self._read: list[LinkInput] = []  # read, not applied yet
        # Every applied link's outcome per partition, in offset order: a stage taking a
        # partition over emits what it applied before from the committed offset on.
        self.applied: dict[int, list[LinkOutcome]] = defaultdict(list)

    def next_offset(self, partition: int) -> int:
        return self._next[partition]

    def tag_at(self, partition: int) -> int | None:
        return self._tag[partition]

    def take_buffered(self) -> bool:
        """Read what librdkafka already fetched (no wait); True if that was anything."""
        got = False
        while True:
            messages = self.consumer.consume(500, 0)
            if not messages:
                return got
            got = self._take(messages) or got

    def catch_up(
        self, others: Sequence[TopicPartition] = (), timeout_s: float = 10.0
    ) -> tuple[list[LinkOutcome], dict[tuple[str, int], int]] | None:
        """Read every partition to the end offset the broker reports now, then apply what
        was read in link order; also returns the end offsets of ``others`` (asked in the
        same request). None: the broker did not answer in time (nothing applied)."""
        deadline = time.monotonic() + timeout_s
        links = [TopicPartition(self.topic, p) for p in range(self.partitions)]
        try:
            if not self._started:  # retention may have removed the start of a partition
                for (_t, p), start in self._offsets(links, OffsetSpec.earliest(), timeout_s).items():
                    self._next[p] = max(self._next[p], start)
                self._started = True
            ends = self._offsets([*links, *others], OffsetSpec.latest(), timeout_s)
        except KafkaException as exc:
            # A new client: after a broker restart librdkafka's admin client kept asking
            # with the leader epochs it had cached and got FENCED_LEADER_EPOCH forever.
            log.warning("identity links: end offsets not known (%s); retrying with a new admin client", exc)
            self.admin = AdminClient(self._admin_config)
            return None
        self._ends = [ends[(self.topic, p)] for p in range(self.partitions)]
        while any(self._next[p] < self._ends[p] for p in range(self.partitions)):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._take(self.consumer.consume(500, min(left, 0.1)))
        return self.apply(), ends

    def end(self, partition: int) -> int:
        """The end offset of ``partition`` at the last catch-up (< 0: none yet)."""
        return self._ends[partition]

    def prune(self, committed: dict[int, int]) -> None:
        """Forget the outcomes before each partition's committed offset: whoever owns a
        partition next starts from there, so only later outcomes may still be sent."""
        for partition, offset in committed.items():
            kept = self.applied.get(partition)
            if kept and kept[0].link.offset < offset:
                self.applied[partition] = [o for o in kept if o.link.offset >= offset]

    def _offsets(
        self, tps: Sequence[TopicPartition], spec: OffsetSpec, timeout_s: float
    ) -> dict[tuple[str, int], int]:
        request = {TopicPartition(tp.topic, tp.partition): spec for tp in tps}
        futures = self.admin.list_offsets(request, request_timeout=timeout_s)
        return {(tp.topic, tp.partition): int(f.result().offset) for tp, f in futures.items()}

    def apply(self) -> list[LinkOutcome]:
        """Apply what was read, in link order."""
        outcomes = []
        for link in sorted(self._read, key=link_order):
            outcome = LinkOutcome(link) if link.error is not None else self.links.apply(link)
            self.applied[link.partition].append(outcome)
            outcomes.append(outcome)
        self._read.clear()
        return outcomes

    def _take(self, messages: list[Message]) -> bool:
        got = False
        for msg in messages:
            if not is_record(msg):
                continue
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if offset < self._next[partition]:
                continue  # read before (a re-seek after an error)
            self._next[partition] = offset + 1
            self._read.append(self._decode(msg, partition, offset))
            got = True
        return got

    def _decode(self, msg: Message, partition: int, offset: int) -> LinkInput:
        tag = self._tag[partition]
        try:
            link = self.serde.decode(msg.value(), topic=self.topic, partition=partition, offset=offset)
            if not isinstance(link, IdentityLink):
                raise UnexpectedRecordError(
                    Source(self.topic, partition, offset), type(link).__name__, "IdentityLink"
                )
            # Refused before it can move its partition's clock (as events are, front.py).
            require_not_future(to_ms(link.occurred_at), self._wall_ms(), self._max_ahead_ms)
        except Exception as exc:  # dead-lettered by the partition's owner
            return LinkInput(
                partition, offset, tag if tag is not None else 0, value=msg.value(), key=msg.key(), error=exc
            )
        at = to_ms(link.occurred_at)
        tag = at if tag is None or at > tag else tag
        self._tag[partition] = tag
        first, _ = checked_key(link.identity.provider, link.identity.external_id)
        second, _ = checked_key(link.linked_identity.provider, link.linked_identity.external_id)
        return LinkInput(
            partition,
            offset,
            tag,
            event_id=link.event_id,
            first_key=first,
            second_key=second,
            explicit_canonical=link.canonical_id,
            occurred_at_ms=at,
            sent_at_ms=to_ms(link.sent_at) if link.sent_at else None,
            record=link,
            value=msg.value(),
            key=msg.key(),
        )

    def close(self) -> None:
        self.consumer.close()
