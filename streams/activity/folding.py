"""The join's fold: released entries and the judgements due between them, in one order.

Entries leave the join's merge in event-time order (streams/ordering.py): events, interactions
with a user, and the two places an identity link takes in that order (linkstage.py):

- ``MERGE_OUT`` on the old id's partition: everything the old id got before the link has
  been folded; its state goes to the person (a ``merge-in`` user signal) and the old id
  keeps a husk (activity/merge.py).
- ``MERGE_EXPECT`` on the person's partition: the old id's activity belongs here, before
  the person's next entry. If its ``merge-in`` has arrived (kept in ``early_merges``), it
  is folded in now; if not, the person *waits*: their later entries are parked, in order,
  until it arrives, then folded (``receive_merge``). Only that person waits.

So a person's outputs follow the one order whatever the arrival order of the merge. A
user due at ``d`` is judged after the entries tagged up to ``d`` and before those after
it; with no entry left, only once every input has passed ``d`` (the watermark).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from foundation.settings import StreamSettings
from streams.accounts.health import after_tick
from streams.activity.join import Applied, BatchOutcome, Forward, JoinStep
from streams.activity.merge import merge_states
from streams.activity.process import StepResult, apply_interaction, check_absence, score_update
from streams.activity.schedule import DueQueue, next_check_ms
from streams.batches import EntryKind, ResolvedEntry
from streams.messages import Interaction, Marker, SignalKind, UserSignal
from streams.state import Decayed, UserState
from streams.timeconv import from_ms, from_ms_or_none, to_ms

# A released entry: (tag, (entry, offset of the batch record that brought it)).
Released = tuple[int, tuple[ResolvedEntry, int]]
# Merge id of one event forwarded from a merged id to its person (then "<prefix><event id>").
EVENT_MERGE = "event:"


@dataclass
class FoldOut:
    """What a fold changed and what its caller still has to send or account for."""

    changed: dict[str, UserState] = field(default_factory=dict)
    # Merge-ins to send, in the order the fold made them: a link's before the events after it.
    signals: list[UserSignal] = field(default_factory=list)
    done: list[int] = field(default_factory=list)  # record offsets of entries consumed


@dataclass(frozen=True)
class FoldHooks:
    """How the fold reaches the table and the outputs (activity/agents.py)."""

    load: Callable[[str], UserState | None]
    publish: Callable[[str, StepResult], bool]
    route_to_mentors: Callable[[int, Applied], None]
    dead_letter: Callable[[BatchOutcome], None]
    clock: Callable[[], datetime]


def _forward_signal(forward: Forward) -> UserSignal:
    """An event folded after its id was merged: its activity goes to the person too."""
    event = forward.event
    return UserSignal(
        kind=SignalKind.MERGE_IN,
        canonical_id=forward.into,
        state=forward.state.model_dump_json(),
        merge_id=f"{EVENT_MERGE}{event.event_id}",
        event_id=event.event_id,
        occurred_at_ms=to_ms(event.occurred_at),
        sent_at_ms=to_ms(event.sent_at) if event.sent_at else None,
    )


def _is_shell(state: UserState) -> bool:
    """A state kept only to remember merges for a person with no activity yet."""
    return state.event_count == 0 and state.reach == Decayed() and not state.merged


class Folder:
    """Folds one worker's join partitions; parked entries are kept per partition and user."""

    def __init__(self, cfg: StreamSettings, step: JoinStep, hooks: FoldHooks) -> None:
        self.cfg = cfg
        self.step = step
        self.hooks = hooks
        self.parked: dict[int, dict[str, list[Released]]] = {}

    def parked_floor(self, partition: int) -> int | None:
        """The least tag of the entries parked on ``partition`` (None: none parked)."""
        tags = [items[0][0] for items in self.parked.get(partition, {}).values() if items]
        return min(tags) if tags else None

    def forget(self, partition: int) -> None:
        """The partition went to another worker: its parked entries are read again there."""
        self.parked.pop(partition, None)

    # -- the fold ------------------------------------------------------------------------
    def fold(
        self,
        partition: int,
        released: list[Released],
        watermark: int | None,
        queue: DueQueue,
        out: FoldOut | None = None,
    ) -> FoldOut:
        out = out or FoldOut()
        i = 0
        while True:
            at = queue.peek()
            j = i
            while j < len(released) and (at is None or released[j][0] <= at):
                j += 1
            if j > i:
                # Fewer may be taken: an entry can make a user due before the next one.
                i += self._apply(partition, released[i:j], queue, out)
                continue
            if at is None or (i == len(released) and (watermark is None or at >= watermark)):
                return out
            for canonical_id in queue.pop_due(at):
                judged = self._current(canonical_id, out)
                if judged is None or judged.awaiting:
                    continue  # a waiting person is judged when their entries are folded
                now = self.hooks.clock()
                result = after_tick(
                    check_absence(judged, from_ms(at), self.cfg, emitted_at=now), at, self.cfg, now
                )
                self.hooks.publish(canonical_id, result)
                if result.state != judged:
                    out.changed[canonical_id] = result.state
                self._schedule(result.state, at, queue, out)

    def _schedule(self, state: UserState, from_ms: int, queue: DueQueue, out: FoldOut) -> None:
        """Queue the user's next judgement, due after ``from_ms``, and keep ``from_ms`` in the
        state: a queue rebuilt after a restart then holds the same times, instead of judging
        again, with today's state, times already judged."""
        if state.awaiting or state.merged_into is not None:
            queue.set(state.canonical_id, None)  # judged when the merge arrives / never
            return
        queue.set(state.canonical_id, next_check_ms(state, from_ms, self.cfg))
        if state.due_from_ms != from_ms:
            out.changed[state.canonical_id] = state.model_copy(update={"due_from_ms": from_ms})

    def _current(self, canonical_id: str, out: FoldOut) -> UserState | None:
        return out.changed[canonical_id] if canonical_id in out.changed else self.hooks.load(canonical_id)

    def _apply(self, partition: int, items: list[Released], queue: DueQueue, out: FoldOut) -> int:
        """Fold ``items`` in order until one makes a user due before the next item (that
        judgement goes first: a backlog folded at once must judge where a live join does).
        Returns how many were taken."""
        events: list[Released] = []  # a run: items[n - len(events):n]
        for n, item in enumerate(items):
            entry = item[1][0]
            # Only markers change who waits, and they end runs: a run's checks stay true.
            current = self._current(entry.canonical_id, out)
            waiting = current is not None and bool(current.awaiting) and entry.kind is not EntryKind.MERGE_OUT
            if entry.kind is EntryKind.EVENT and not waiting:
                # Within a run the run itself checks (``_ends_run``); before one, the queue.
                if not events and n and self._due_before(queue, item[0]):
                    return n
                events.append(item)
                continue
            # Events fold in runs (one state read and write per user per run); anything
            # else ends the run: it needs the states as they are now.
            taken = self._events(partition, events, queue, out)
            if taken < len(events):
                return n - len(events) + taken
            events = []
            if n and self._due_before(queue, item[0]):
                return n
            if waiting:
                self.parked.setdefault(partition, {}).setdefault(entry.canonical_id, []).append(item)
                continue
            state = self._current(entry.canonical_id, out)
            if entry.kind is EntryKind.INTERACTION:
                self._interaction(entry, state, queue, out)
            elif entry.kind is EntryKind.MERGE_OUT:
                self._merge_out(entry, state, queue, out)
            else:
                self._expect(entry, state, queue, out)
            out.done.append(item[1][1])
        return len(items) - len(events) + self._events(partition, events, queue, out)

    @staticmethod
    def _due_before(queue: DueQueue, tag: int) -> bool:
        at = queue.peek()
        return at is not None and at < tag

    def _ends_run(self, state: UserState, next_tag: int) -> bool:
        """True when ``state``, just folded, comes due before the run's next entry."""
        if state.awaiting or state.merged_into is not None:
            return False
        due = next_check_ms(state, state.last_event_ms, self.cfg)
        return due is not None and due < next_tag

    def _events(self, partition: int, items: list[Released], queue: DueQueue, out: FoldOut) -> int:
        """Fold a run of events; returns how many were taken (see ``_apply``)."""
        if not items:
            return 0
        outcome = self.step.run(
            [item[1][0] for item in items],
            lambda c: self._current(c, out),
            self.hooks.clock(),
            ends=self._ends_run,
        )
        for applied in outcome.applied:
            self.hooks.publish(applied.canonical_id, applied.result)
            self.hooks.route_to_mentors(partition, applied)
        self.hooks.dead_letter(outcome)
        out.signals.extend(_forward_signal(forward) for forward in outcome.forwards)
        for canonical_id, state in outcome.states.items():
            out.changed[canonical_id] = state
            self._schedule(state, state.last_event_ms, queue, out)
        out.done.extend(item[1][1] for item in items[: outcome.taken])
        return outcome.taken

    def _interaction(
        self, entry: ResolvedEntry, state: UserState | None, queue: DueQueue, out: FoldOut
    ) -> None:
        last = state.applied_interactions.get(entry.source) if state is not None else None
        if last is not None and entry.offset <= last:
            return  # a redelivery
        inter = Interaction.from_bytes(entry.value)
        updated = apply_interaction(
            state,
            entry.canonical_id,
            inter.kind,
            from_ms(inter.occurred_at_ms),
            inter.direct,
            self.cfg,
            ref=inter.ref,
        )
        updated = updated.model_copy(
            update={"applied_interactions": {**updated.applied_interactions, entry.source: entry.offset}}
        )
        out.changed[entry.canonical_id] = updated
        self._schedule(updated, max(inter.occurred_at_ms, updated.last_event_ms), queue, out)

    def _merge_out(
        self, entry: ResolvedEntry, state: UserState | None, queue: DueQueue, out: FoldOut
    ) -> None:
        """On the old id's partition: hand its state to the person, keep a husk that says so."""
        marker = Marker.from_bytes(entry.value)
        moved = None if state is None else state.model_copy(update={"merged_into": None}).model_dump_json()
        out.signals.append(
            UserSignal(
                kind=SignalKind.MERGE_IN,
                canonical_id=marker.into,
                state=moved,
                merge_id=marker.merge_id,
                event_id=marker.event_id,
                occurred_at_ms=marker.occurred_at_ms,
                sent_at_ms=marker.sent_at_ms,
            )
        )
        if state is None or state.merged_into is not None:
            return  # no activity to move, or moved before (the person ignores a second copy)
        # The old id's last word for analysts: no score, no level, not a member of its own.
        gone = state.model_copy(
            update={
                "product": Decayed(),
                "community": Decayed(),
                "reach": Decayed(),
                "orbit_level": 0,
                "is_member": False,
                "last_event_ms": max(state.last_event_ms, marker.occurred_at_ms),
            }
        )
        self._publish_merge(
            gone, state.orbit_level, f"{state.canonical_id}:merged-into:{marker.merge_id}", marker
        )
        # Kept, not deleted, and marked: it leaves the due queue (a husk is never judged),
        # and an event resolved to it after all goes on to the person (activity/join.py).
        out.changed[state.canonical_id] = state.model_copy(update={"merged_into": marker.into})
        queue.set(state.canonical_id, None)

    def _expect(self, entry: ResolvedEntry, state: UserState | None, queue: DueQueue, out: FoldOut) -> None:
        """On the person's partition: the merged activity belongs here, now."""
        marker = Marker.from_bytes(entry.value)
        merge_id = marker.merge_id
        if state is not None and (merge_id in state.merged or merge_id in state.awaiting):
            return  # folded in before, or already waited for (a redelivery)
        if state is not None and merge_id in state.early_merges:
            early = {k: v for k, v in state.early_merges.items() if k != merge_id}
            base = state.model_copy(update={"early_merges": early})
            self._fold_merge(base, state.early_merges[merge_id], marker, queue, out)
            return
        person = state or UserState(canonical_id=marker.into, first_seen_ms=marker.occurred_at_ms)
        out.changed[marker.into] = person.model_copy(update={"awaiting": [*person.awaiting, merge_id]})
        queue.set(marker.into, None)

    def _fold_merge(
        self, person: UserState, moved: str, marker: Marker, queue: DueQueue, out: FoldOut
    ) -> UserState:
        """Fold the old id's state (JSON; "" for none) into ``person`` and say so."""
        if not moved:
            merged = person.model_copy(update={"merged": [*person.merged, marker.merge_id]})
        else:
            base = None if _is_shell(person) else person
            merged = merge_states(
                base, UserState.model_validate_json(moved), person.canonical_id, marker.merge_id, self.cfg
            )
            merged = merged.model_copy(
                update={"awaiting": person.awaiting, "early_merges": person.early_merges}
            )
            previous = 0 if base is None else base.orbit_level
            self._publish_merge(merged, previous, f"{person.canonical_id}:merge:{marker.merge_id}", marker)
        out.changed[person.canonical_id] = merged
        self._schedule(merged, merged.last_event_ms, queue, out)
        return out.changed[person.canonical_id]

    def _publish_merge(self, state: UserState, previous_level: int, update_id: str, marker: Marker) -> None:
        update = score_update(
            state,
            previous_level,
            self.cfg,
            self.hooks.clock(),
            update_id=update_id,
            source_event_id=marker.event_id or update_id,
            source_occurred_at=from_ms(marker.occurred_at_ms),
            source_sent_at=from_ms_or_none(marker.sent_at_ms),
        )
        self.hooks.publish(state.canonical_id, StepResult(state, update))

    # -- a merge-in arriving -------------------------------------------------------------
    def receive_merge(
        self, partition: int, signal: UserSignal, watermark: int | None, queue: DueQueue
    ) -> FoldOut:
        """A merged id's activity arrived on the person's partition (``signal.canonical_id``)."""
        out = FoldOut()
        into, merge_id = signal.canonical_id, signal.merge_id
        if into is None or merge_id is None:
            raise ValueError("merge-in signal without canonical_id or merge_id")
        marker = Marker("", into, merge_id, signal.event_id or "", signal.occurred_at_ms, signal.sent_at_ms)
        person = self.hooks.load(into)
        moved = signal.state or ""
        if merge_id.startswith(EVENT_MERGE):
            self._forwarded(person, moved, marker, queue, out)
            return out
        if person is not None and merge_id in person.merged:
            return out  # folded in before
        if person is None or merge_id not in person.awaiting:
            # Ahead of its place in the order: kept until the order reaches it.
            person = person or UserState(canonical_id=into, first_seen_ms=signal.occurred_at_ms)
            out.changed[into] = person.model_copy(
                update={"early_merges": {**person.early_merges, merge_id: moved}}
            )
            return out
        waiting = [m for m in person.awaiting if m != merge_id]
        merged = self._fold_merge(person.model_copy(update={"awaiting": waiting}), moved, marker, queue, out)
        if not merged.awaiting:
            self._unpark(partition, into, merged, watermark, queue, out)
        return out

    def _unpark(
        self,
        partition: int,
        person: str,
        state: UserState,
        watermark: int | None,
        queue: DueQueue,
        out: FoldOut,
    ) -> None:
        """Fold the entries that waited for the merge, with the person's judgements between them."""
        items = self.parked.get(partition, {}).pop(person, [])
        own = DueQueue()
        self._schedule(state, state.last_event_ms, own, out)
        self.fold(partition, items, watermark, own, out)
        queue.set(person, own.due_of(person))

    def _forwarded(
        self, person: UserState | None, moved: str, marker: Marker, queue: DueQueue, out: FoldOut
    ) -> None:
        """One event folded after its id was merged, sent on: it keeps its own update id."""
        if not moved:
            return
        merged = merge_states(
            person, UserState.model_validate_json(moved), marker.into, marker.merge_id, self.cfg
        )
        if merged is person:
            return  # folded in before
        previous = person.orbit_level if person is not None else 0
        update_id = f"{marker.into}:{marker.merge_id.removeprefix(EVENT_MERGE)}"
        self._publish_merge(merged, previous, update_id, marker)
        out.changed[marker.into] = merged
        self._schedule(merged, merged.last_event_ms, queue, out)
