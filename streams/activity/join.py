"""The join's step over one batch of resolved events: pure, so unit tests reach it.

Each user's state is read once per batch and written once per batch (one changelog record
per dirty user, not one per event). An event already folded into its user's state, by
input position or by event id, is a redelivery and is skipped: outputs stay a function of
the input whatever crashed or was re-sent in between.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from infra.settings import StreamSettings
from schemas.models import Event
from schemas.serde import AvroSerde
from streams.accounts.health import after_event
from streams.activity.process import COMMUNITY_NAMESPACE, StepResult, apply_event
from streams.activity.state import Progress, UserState
from streams.batches import ResolvedEntry
from streams.timeconv import to_ms

Loader = Callable[[str], UserState | None]


@dataclass(frozen=True)
class Applied:
    """One event folded in: what it produced, and the event (mentor routing reads it)."""

    canonical_id: str
    event: Event
    result: StepResult


@dataclass
class BatchOutcome:
    applied: list[Applied] = field(default_factory=list)
    # The final state of every user the batch changed, written once each.
    states: dict[str, UserState] = field(default_factory=dict)
    # Latest event time per join input ("product" / "community") for the watermark.
    clocks: dict[bool, int] = field(default_factory=dict)
    failures: list[tuple[ResolvedEntry, Exception]] = field(default_factory=list)
    redelivered: int = 0


class JoinStep:
    """Folds batches of resolved events into user state."""

    def __init__(self, cfg: StreamSettings, serde: AvroSerde) -> None:
        self.cfg = cfg
        self.serde = serde

    def decode(self, entry: ResolvedEntry) -> Event:
        record = self.serde.decode(
            entry.value, topic=entry.topic, partition=entry.partition, offset=entry.offset
        )
        if not isinstance(record, Event) or record.canonical_id != entry.canonical_id:
            raise ValueError(
                f"{entry.topic}[{entry.partition}]@{entry.offset}: batch entry holds "
                f"{type(record).__name__} for {entry.canonical_id!r}, expected its resolved event"
            )
        return record

    def _in_event_time(
        self, entries: list[ResolvedEntry], out: BatchOutcome
    ) -> Iterator[tuple[ResolvedEntry, Event]]:
        """The batch's events in event-time order across its input partitions.

        Events of one input partition keep their order (the offsets the state records must
        only grow); between partitions, and so between the product and community inputs of
        one user, the earlier event comes first, whichever fetch brought it. Undecodable
        entries go to ``out.failures``.
        """
        by_source: dict[str, list[tuple[ResolvedEntry, Event]]] = {}
        for entry in entries:
            try:
                by_source.setdefault(entry.source, []).append((entry, self.decode(entry)))
            except Exception as exc:
                out.failures.append((entry, exc))
        return heapq.merge(*by_source.values(), key=lambda pair: pair[1].occurred_at)

    def run(self, entries: list[ResolvedEntry], load: Loader, emitted_at: datetime) -> BatchOutcome:
        out = BatchOutcome()
        # What each user's state has applied, kept per batch and written into the state once
        # per user at the end (a copy of the state per event cost as much as its scoring).
        progress: dict[str, Progress] = {}
        for entry, event in self._in_event_time(entries, out):
            try:
                canonical_id = entry.canonical_id
                state = out.states[canonical_id] if canonical_id in out.states else load(canonical_id)
                seen = progress.get(canonical_id)
                if seen is None:
                    seen = progress[canonical_id] = Progress.of(state)
                if seen.has(entry.source, entry.offset, event.event_id):
                    out.redelivered += 1
                    continue
                result = apply_event(state, event, canonical_id, self.cfg, emitted_at=emitted_at)
                result = after_event(result, event, self.cfg, emitted_at)
            except Exception as exc:  # a bug hit by one odd event: dead-lettered, the batch goes on
                out.failures.append((entry, exc))
                continue
            seen.add(entry.source, entry.offset, event.event_id)
            out.states[canonical_id] = result.state
            out.applied.append(Applied(canonical_id, event, result))
            community = event.avro_name.startswith(COMMUNITY_NAMESPACE)
            at = to_ms(event.occurred_at)
            if at > out.clocks.get(community, at - 1):
                out.clocks[community] = at
        for canonical_id, state in out.states.items():
            out.states[canonical_id] = progress[canonical_id].written_to(state)
        return out
