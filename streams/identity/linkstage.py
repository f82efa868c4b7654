"""What a resolve stage sends for the identity links of the partitions it owns.

Every stage applies every link (linkreader.py); only the owner of a link's partition
speaks for it, from the offset committed for that partition on:

- a refusal (merge guard, illegal id) to identity-refusals;
- an unreadable link to dead-letters;
- for each identity the link moves off its deterministic id, two entries in the join's
  order (batch entries, tagged with the link's tag, from source ``identity-links:<p>``):
  ``MERGE_OUT`` to the old id's partition (hand over the activity it holds) and
  ``MERGE_EXPECT`` to the person's (fold that activity in at exactly this point, before
  the person's later events: activity/merge.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from schemas.models import Identity, IdentityLink, IdentityMergeRefused
from streams.batches import EntryKind, ResolvedEntry
from streams.context import StreamContext
from streams.errors import Source, build_dead_letter
from streams.fastout import FastProducer
from streams.identity.keys import identity_of
from streams.identity.linkmap import LinkInput, LinkOutcome
from streams.identity.resolution import RefusalReason
from streams.messages import Marker
from streams.timeconv import from_ms, from_ms_or_none, to_ms

log = logging.getLogger(__name__)


def refusal_record(
    *,
    event_id: str,
    first: Identity,
    second: Identity,
    reason: str,
    first_canonical: str | None,
    second_canonical: str | None,
    occurred_at_ms: int,
    sent_at_ms: int | None,
    emitted_at: Any,
) -> IdentityMergeRefused:
    occurred = from_ms(occurred_at_ms)
    return IdentityMergeRefused(
        refusal_id=event_id,
        identity=first,
        linked_identity=second,
        reason=reason,
        canonical_id=first_canonical,
        linked_canonical_id=second_canonical,
        occurred_at=occurred,
        source_event_id=event_id,
        source_occurred_at=occurred,
        source_sent_at=from_ms_or_none(sent_at_ms),
        emitted_at=emitted_at,
    )


class LinkEmitter:
    """Turns applied links of owned partitions into refusals, dead letters and join entries."""

    def __init__(
        self,
        ctx: StreamContext,
        producer: FastProducer,
        *,
        links_topic: str,
        refusals_topic: str,
        dead_letters_topic: str,
        partition_of: Callable[[str], int],
    ) -> None:
        self.ctx = ctx
        self.producer = producer
        self.links_topic = links_topic
        self.refusals_topic = refusals_topic
        self.dead_letters_topic = dead_letters_topic
        self.partition_of = partition_of
        # Per owned identity-links partition, the first offset whose outcome this stage
        # has not sent yet (the committed offset when it took the partition on).
        self._from: dict[int, int] = {}

    def own(self, partition: int, next_offset: int) -> None:
        self._from[partition] = next_offset

    def disown(self, partition: int) -> None:
        self._from.pop(partition, None)

    def emit_owned(self, outcomes: list[LinkOutcome], out: dict[int, list[ResolvedEntry]]) -> list[LinkInput]:
        """Emit the outcomes of owned partitions not sent yet, each once, in offset order;
        returns their links."""
        sent = []
        for outcome in outcomes:
            link = outcome.link
            start = self._from.get(link.partition)
            if start is None or link.offset < start:
                continue  # another stage's partition, or sent before
            self._from[link.partition] = link.offset + 1
            self.emit(outcome, out)
            sent.append(link)
        return sent

    def emit(self, outcome: LinkOutcome, out: dict[int, list[ResolvedEntry]]) -> None:
        """Send what ``outcome`` says; its join entries are appended to ``out`` by partition."""
        link = outcome.link
        if link.error is not None:
            self._dead_letter(outcome)
            return
        if outcome.refused is not None:
            self._refuse(outcome)
            return
        for i, merge in enumerate(outcome.merges):
            marker = Marker(
                merge.old, merge.into, merge.merge_id, link.event_id, link.occurred_at_ms, link.sent_at_ms
            ).to_bytes()
            for kind, canonical_id, sub in (
                (EntryKind.MERGE_OUT, merge.old, 2 * i),
                (EntryKind.MERGE_EXPECT, merge.into, 2 * i + 1),
            ):
                entry = ResolvedEntry(
                    self.links_topic, link.partition, link.offset, canonical_id, marker, link.tag, kind, sub
                )
                out.setdefault(self.partition_of(canonical_id), []).append(entry)

    def _refuse(self, outcome: LinkOutcome) -> None:
        link = outcome.link
        record = link.record
        assert isinstance(record, IdentityLink)
        reason = outcome.refused or RefusalReason.ILLEGAL_ID
        if link.first_key is None or link.second_key is None:  # as sent: no legal key
            first, second = record.identity, record.linked_identity
        else:
            first, second = identity_of(link.first_key), identity_of(link.second_key)
        refusal = refusal_record(
            event_id=link.event_id,
            first=first,
            second=second,
            reason=reason.value,
            first_canonical=outcome.first_canonical,
            second_canonical=outcome.second_canonical,
            occurred_at_ms=to_ms(record.occurred_at),
            sent_at_ms=link.sent_at_ms,
            emitted_at=self.ctx.clock(),
        )
        key = link.first_key or link.second_key or link.event_id
        self.producer.produce(
            self.refusals_topic, self.ctx.serde.encode(refusal, self.refusals_topic), key.encode()
        )
        self.ctx.health.outputs[self.refusals_topic] += 1

    def _dead_letter(self, outcome: LinkOutcome) -> None:
        link = outcome.link
        exc = link.error
        assert exc is not None
        source = Source(self.links_topic, link.partition, link.offset, link.key, link.value)
        log.warning(
            "dead-lettering %s[%s]@%s in identity-link: %s", source.topic, link.partition, link.offset, exc
        )
        letter = build_dead_letter(
            source,
            exc,
            "identity-link",
            to_ms(self.ctx.clock()),
            self.ctx.settings.worker.dead_letter_max_bytes,
        )
        self.producer.produce(self.dead_letters_topic, letter.value, letter.key, headers=letter.headers)
        self.ctx.health.dead_lettered("identity-link", exc, self.dead_letters_topic)
