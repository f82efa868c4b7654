"""The join's step over a run of resolved events: pure, so unit tests reach it.

Events come in the order the join releases them (streams/ordering.py: one event-time order
across every input partition) and are folded in that order. Each user's state is read
once per run and written once per run (one changelog record per dirty user, not one per
event). An event already folded into its user's state, by input position or by event id,
is a redelivery and is skipped: outputs stay a function of the input whatever crashed or
was re-sent in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from foundation.settings import StreamSettings
from schemas.models import Event
from schemas.serde import AvroSerde
from streams.accounts.health import after_event
from streams.activity.process import StepResult, apply_event
from streams.batches import ResolvedEntry
from streams.state import Progress, UserState

Loader = Callable[[str], UserState | None]


@dataclass(frozen=True)
class Applied:
    """One event folded in: what it produced, and the event (mentor routing reads it)."""

    canonical_id: str
    event: Event
    result: StepResult
    entry: ResolvedEntry | None = None  # where it was read, and its tag (the mentor order)


@dataclass(frozen=True)
class Forward:
    """An event for an id already merged into its person: its activity goes on to ``into``."""

    entry: ResolvedEntry
    event: Event
    into: str
    state: UserState  # the event folded into an empty state, for merge_states at the person


@dataclass
class BatchOutcome:
    applied: list[Applied] = field(default_factory=list)
    # The final state of every user the run changed, written once each.
    states: dict[str, UserState] = field(default_factory=dict)
    failures: list[tuple[ResolvedEntry, Exception]] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)
    redelivered: int = 0
    taken: int = 0  # entries consumed: the run can end early (``run``'s ``ends``)


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

    def _forward(self, entry: ResolvedEntry, event: Event, into: str, emitted_at: datetime) -> Forward:
        alone = apply_event(None, event, entry.canonical_id, self.cfg, emitted_at=emitted_at).state
        # No input progress: offsets of one partition are not comparable across the person's
        # ids; the event id is what recognises a redelivery at the person.
        alone = alone.model_copy(update={"applied": {}, "recent_event_ids": [event.event_id]})
        return Forward(entry, event, into, alone)

    def run(
        self,
        entries: list[ResolvedEntry],
        load: Loader,
        emitted_at: datetime,
        ends: Callable[[UserState, int], bool] | None = None,
    ) -> BatchOutcome:
        """Fold ``entries`` in order. ``ends(state, next_tag)``, asked after each event
        folded, ends the run there when true (the user comes due before the next entry)."""
        out = BatchOutcome()
        # What each user's state has applied, kept per batch and written into the state once
        # per user at the end (a copy of the state per event cost as much as its scoring).
        progress: dict[str, Progress] = {}
        for k, entry in enumerate(entries):
            out.taken = k + 1
            try:
                event = self.decode(entry)
                canonical_id = entry.canonical_id
                state = out.states[canonical_id] if canonical_id in out.states else load(canonical_id)
                seen = progress.get(canonical_id)
                if seen is None:
                    seen = progress[canonical_id] = Progress.of(state)
                if seen.has(entry.source, entry.offset, event.event_id):
                    out.redelivered += 1
                    continue
                if state is not None and state.merged_into is not None:
                    # Resolved before its identity's link, folded after the merge: the husk
                    # keeps nothing; the event's activity joins the person it belongs to.
                    out.forwards.append(self._forward(entry, event, state.merged_into, emitted_at))
                    seen.add(entry.source, entry.offset, event.event_id)
                    out.states[canonical_id] = state
                    continue
                result = apply_event(state, event, canonical_id, self.cfg, emitted_at=emitted_at)
                result = after_event(result, event, self.cfg, emitted_at)
            except Exception as exc:  # a bug hit by one odd event: dead-lettered, the batch goes on
                out.failures.append((entry, exc))
                continue
            seen.add(entry.source, entry.offset, event.event_id)
            out.states[canonical_id] = result.state
            out.applied.append(Applied(canonical_id, event, result, entry))
            if ends is not None and k + 1 < len(entries) and ends(result.state, entries[k + 1].tag):
                break
        for canonical_id, state in out.states.items():
            out.states[canonical_id] = progress[canonical_id].written_to(state)
        return out
