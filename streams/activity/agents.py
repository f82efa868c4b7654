"""The per-user join: one agent consumes both re-keyed streams into per-user table state.

Topics in:  user-event-batches (resolved events of both inputs, many to a record, with
            the resolve stages' clocks), user-signals (reach interactions and identity
            merges, keyed by canonical id).
Topics out: engagement-scores, churn-triggers, account-health, mentor help requests and solutions.

Faust has no working stream-stream join (faust/joins.py raises NotImplementedError), so
the join is this: both inputs resolved to canonical ids upstream, read here by one agent
into the ``users`` table, in one event-time order across every input partition
(streams/ordering.py), whatever the arrival order. Absence triggers (silence, unanswered
questions) need time to pass without events: each user has a due time (schedule.py), and
a user is judged at exactly that event time, between the events before it and those after
it, once every input has passed it. Judgements therefore depend on the events only.

A record whose events are still waiting caps the offsets Faust commits (transport.py), so
after a crash it is read again, and the users' states skip what they already hold.
"""

from __future__ import annotations

import asyncio
from typing import Any

from schemas.topics import (
    ACCOUNT_HEALTH,
    CHURN_TRIGGERS,
    COMMUNITY_EVENTS,
    DEAD_LETTERS,
    ENGAGEMENT_SCORES,
    PRODUCT_EVENTS,
)
from streams.accounts.health import after_tick
from streams.activity.join import Applied, BatchOutcome, Forward, JoinStep
from streams.activity.merge import merge_states
from streams.activity.process import StepResult, apply_interaction, check_absence, score_update
from streams.activity.schedule import DueQueue, next_check_ms
from streams.batches import ResolvedEntry, decode_batch
from streams.context import StreamContext
from streams.errors import DeadLetters, Source, build_dead_letter, run_guarded
from streams.fastout import FastProducer
from streams.identity.agents import JoinTopics
from streams.mentors.agents import MentorTopics
from streams.mentors.outbox import MentorOutbox
from streams.mentors.routing import mentor_records
from streams.messages import SignalKind, UserSignal, signal_kind
from streams.ordering import EventTimeMerge, sources_of
from streams.partitioning import partition_of
from streams.state import Decayed, UserState
from streams.tables import FastChangelogTable
from streams.timeconv import from_ms, from_ms_or_none, to_ms
from streams.transport import WorkerApp

USER_TABLE = "users"
# Merge id of one event forwarded from a merged id to its person (then "<prefix><event id>").
EVENT_MERGE = "event:"
USER_EVENT_BATCHES = "user-event-batches"


def register(
    app: WorkerApp,
    ctx: StreamContext,
    dead_letters: DeadLetters,
    join: JoinTopics,
    mentors: MentorTopics,
    producer: FastProducer,
) -> str:
    """Declare the join's topics, tables and agents; returns the batch topic's name."""
    n = ctx.partitions
    cfg = ctx.settings.streams
    scores_name = ctx.topic_name(ENGAGEMENT_SCORES)
    triggers_name = ctx.topic_name(CHURN_TRIGGERS)
    dead_letters_name = ctx.topic_name(DEAD_LETTERS)
    health_name = ctx.topic_name(ACCOUNT_HEALTH)
    help_name = mentors.help_requests.get_topic_name()
    solutions_name = mentors.solutions.get_topic_name()
    # Every partition the resolve stages read: the join waits for each to pass an event.
    sources = sources_of((ctx.topic_name(PRODUCT_EVENTS), ctx.topic_name(COMMUNITY_EVENTS)), n)
    # Resolved events, many per record, one record per destination partition per batch.
    batches = app.topic(
        ctx.topic_name(USER_EVENT_BATCHES),
        key_serializer="raw",
        value_serializer="raw",
        partitions=n,
        internal=True,
    )
    owned_topics = {batches.get_topic_name(), join.user_signals.get_topic_name()}
    step = JoinStep(cfg, ctx.serde)
    # User state as pydantic's own JSON bytes: parsed and written by pydantic-core in one
    # step: 15 us a read and write instead of 42 us with json + model_validate / model_dump.
    users: Any = app.tables.add(
        FastChangelogTable(
            app,
            name=USER_TABLE,
            default=None,
            partitions=n,
            key_type=str,
            value_type=bytes,
            fast_producer=producer,
        )
    )
    # Derived from the tables and the input, rebuilt after every rebalance (never a
    # source of truth): per owned partition, its due queue, its merge of waiting events,
    # and the offsets of records with events still waiting (offset -> how many).
    due: dict[int, DueQueue] = {}
    merges: dict[int, EventTimeMerge[tuple[ResolvedEntry, int]]] = {}
    held: dict[int, dict[int, int]] = {}
    batches_name = batches.get_topic_name()

    def commit_cap(topic: str, partition: int) -> int | None:
        waiting = held.get(partition) if topic == batches_name else None
        return min(waiting) if waiting else None

    app.add_commit_cap(commit_cap)

    def wall_ms() -> int:
        return to_ms(ctx.clock())

    def load(canonical_id: str) -> UserState | None:
        stored = users.get(canonical_id)
        return None if stored is None else UserState.model_validate_json(stored)

    def store(state: UserState, partition: int, now_ms: int) -> None:
        users[state.canonical_id] = state.model_dump_json().encode()
        queue = due.get(partition)
        if queue is not None:  # else built from the table when the partition is first folded
            queue.set(state.canonical_id, next_check_ms(state, now_ms, cfg))

    def queue_for(partition: int) -> DueQueue:
        """The partition's due queue; after a rebalance, one scan of the table builds the
        queues of every partition this worker now owns, not one scan per partition."""
        if partition not in due:
            signals_topic = join.user_signals.get_topic_name()
            owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == signals_topic}
            fresh = {p: DueQueue() for p in owned | {partition} if p not in due}
            for canonical_id in list(users.keys()):
                queue = fresh.get(partition_of(canonical_id, n))
                if queue is None:
                    continue
                state = load(canonical_id)
                if state is not None:
                    queue.set(canonical_id, next_check_ms(state, state.last_event_ms, cfg))
            due.update(fresh)
        return due[partition]

    def on_revoked(_app: Any, *args: Any, signal: Any, **_kwargs: Any) -> None:
        revoked: set[Any] = args[0]  # mode signals call receiver(sender, revoked, signal=...)
        partitions = {tp.partition for tp in revoked if tp.topic in owned_topics}
        for partition in partitions:
            due.pop(partition, None)
            # Their records were never acked: the next owner reads them again.
            merges.pop(partition, None)
            held.pop(partition, None)

    # mode's handler type is a Protocol no plain function satisfies under mypy.
    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]

    outputs, latency = ctx.health.outputs, ctx.health.latency

    def publish(canonical_id: str, result: StepResult) -> bool:
        """Queue the step's outputs; True when there were any (the caller flushes)."""
        key = canonical_id.encode()
        if result.score_update is not None:
            # One per event: a flat record (tests/unit/schemas hold its bytes to encode()'s).
            update = result.score_update
            producer.produce(scores_name, ctx.serde.encode_flat(update, scores_name), key)
            outputs[scores_name] += 1
            if update.source_sent_at is not None:
                latency.observe((update.emitted_at - update.source_sent_at).total_seconds())
        for trigger in result.triggers:
            producer.produce(triggers_name, ctx.serde.encode(trigger, triggers_name), key)
            outputs[triggers_name] += 1
        if result.health is not None:
            producer.produce(health_name, ctx.serde.encode(result.health, health_name), key)
            outputs[health_name] += 1
        return result.score_update is not None or bool(result.triggers) or result.health is not None

    # Mentor records go out after each fold, with their tags and the partition's clock.
    to_mentors = MentorOutbox(
        producer,
        help_topic=help_name,
        solutions_topic=solutions_name,
        partitions=n,
        report_every_ms=ctx.settings.worker.mentor_clock_report_ms,
        outputs=outputs,
    )
    to_mentors.follow_revocations(app, batches_name)

    def route_to_mentors(partition: int, applied: Applied) -> None:
        if applied.entry is not None:
            to_mentors.add(partition, applied.entry, mentor_records(applied.event, applied.result.state))

    def dead_letter_entries(outcome: BatchOutcome) -> None:
        failed_at_ms = wall_ms()
        max_bytes = ctx.settings.worker.dead_letter_max_bytes
        for entry, exc in outcome.failures:
            source = Source(
                entry.topic, entry.partition, entry.offset, entry.canonical_id.encode(), entry.value
            )
            letter = build_dead_letter(source, exc, "user-activity", failed_at_ms, max_bytes)
            producer.produce(dead_letters_name, letter.value, letter.key, headers=letter.headers)
            ctx.health.dead_lettered("user-activity", exc, dead_letters_name)

    def fold(
        partition: int, released: list[tuple[int, tuple[ResolvedEntry, int]]], watermark: int | None
    ) -> tuple[dict[str, UserState], list[Forward]]:
        """Fold released events and the judgements due between them, in event-time order.

        A user due at ``d`` is judged after the events tagged up to ``d`` and before those
        after it; with no event left, only once every input has passed ``d`` (the
        watermark). Returns every changed state (written by the caller after the flush)
        and the events whose id was merged into a person meanwhile (sent on to it).
        """
        forwards: list[Forward] = []
        queue = queue_for(partition)
        changed: dict[str, UserState] = {}

        def current(canonical_id: str) -> UserState | None:
            return changed[canonical_id] if canonical_id in changed else load(canonical_id)

        i = 0
        while True:
            at = queue.peek()
            j = i
            while j < len(released) and (at is None or released[j][0] <= at):
                j += 1
            if j > i:
                outcome = step.run([item[0] for _, item in released[i:j]], current, ctx.clock())
                for applied in outcome.applied:
                    publish(applied.canonical_id, applied.result)
                    route_to_mentors(partition, applied)
                dead_letter_entries(outcome)
                forwards.extend(outcome.forwards)
                for canonical_id, state in outcome.states.items():
                    changed[canonical_id] = state
                    queue.set(canonical_id, next_check_ms(state, state.last_event_ms, cfg))
                i = j
                continue
            if at is None or (i == len(released) and (watermark is None or at >= watermark)):
                return changed, forwards
            for canonical_id in queue.pop_due(at):
                judged = current(canonical_id)
                if judged is None:
                    continue
                result = after_tick(
                    check_absence(judged, from_ms(at), cfg, emitted_at=ctx.clock()), at, cfg, ctx.clock()
                )
                publish(canonical_id, result)
                if result.state != judged:
                    changed[canonical_id] = result.state
                queue.set(canonical_id, next_check_ms(result.state, at, cfg))

    async def forward_to_person(forward: Forward) -> None:
        """An event folded after its id was merged: its activity goes to the person too."""
        event = forward.event
        await join.user_signals.send(
            key=forward.into,
            value=UserSignal(
                kind=SignalKind.MERGE_IN,
                canonical_id=forward.into,
                state=forward.state.model_dump_json(),
                merge_id=f"{EVENT_MERGE}{event.event_id}",
                event_id=event.event_id,
                occurred_at_ms=to_ms(event.occurred_at),
                sent_at_ms=to_ms(event.sent_at) if event.sent_at else None,
            ),
            force=True,
        )

    async def handle_batch(event: Any) -> None:
        m = event.message
        batch = decode_batch(m.value)
        merge = merges.get(m.partition)
        if merge is None:
            merge = merges[m.partition] = EventTimeMerge(sources)
        waiting = sum(merge.add(e.source, e.tag, e.offset, (e, m.offset)) for e in batch.entries)
        if waiting:  # no commit past this record until its events are folded in
            held.setdefault(m.partition, {})[m.offset] = waiting
        merge.report(batch.clocks)
        released = list(merge.release())
        changed, forwards = fold(m.partition, released, merge.watermark())
        to_mentors.send(m.partition, merge.watermark(), merge.idle())
        for forward in forwards:
            await forward_to_person(forward)
        # Outputs are acknowledged before state records their events as applied: a crash
        # in between replays the events (same outputs, same ids), never skips their outputs.
        await producer.flush()
        for state in changed.values():
            users[state.canonical_id] = state.model_dump_json().encode()
        holds = held.get(m.partition, {})
        for _, (_entry, offset) in released:
            if offset in holds:
                holds[offset] -= 1
                if not holds[offset]:
                    del holds[offset]

    async def publish_merge_update(
        state: UserState, previous_level: int, update_id: str, signal: UserSignal
    ) -> None:
        """A score update stamped with the link that caused the merge, acknowledged on return."""
        update = score_update(
            state,
            previous_level,
            cfg,
            ctx.clock(),
            update_id=update_id,
            source_event_id=signal.event_id or update_id,
            source_occurred_at=from_ms(signal.occurred_at_ms),
            source_sent_at=from_ms_or_none(signal.sent_at_ms),
        )
        publish(state.canonical_id, StepResult(state, update))
        await producer.flush()

    async def handle_merge_out(signal: UserSignal, partition: int) -> None:
        """On the old id's partition: hand its state to the person, keep a husk that says so."""
        old, into = signal.canonical_id, signal.into
        stored = load(old) if old is not None else None
        if stored is None or into is None or into == old:
            return  # no activity before the link: nothing to move
        state = stored.model_copy(update={"merged_into": None})
        moved = UserSignal(
            kind=SignalKind.MERGE_IN,
            canonical_id=into,
            state=state.model_dump_json(),
            merge_id=signal.merge_id,
            event_id=signal.event_id,
            occurred_at_ms=signal.occurred_at_ms,
            sent_at_ms=signal.sent_at_ms,
        )
        await join.user_signals.send(key=into, value=moved, force=True)
        # The old id's last word for analysts: no score, no level, not a member of its own.
        gone = state.model_copy(
            update={
                "product": Decayed(),
                "community": Decayed(),
                "reach": Decayed(),
                "orbit_level": 0,
                "is_member": False,
                "last_event_ms": max(state.last_event_ms, signal.occurred_at_ms),
            }
        )
        await publish_merge_update(
            gone, state.orbit_level, f"{state.canonical_id}:merged-into:{signal.merge_id}", signal
        )
        # Kept, not deleted: a redelivered merge-out resends the same merge, which the
        # person's state ignores, instead of losing state to a tombstone that won the race.
        # Marked, it also leaves the due queue: a husk is never judged.
        store(state.model_copy(update={"merged_into": into}), partition, state.last_event_ms)

    async def handle_merge_in(signal: UserSignal, partition: int) -> None:
        """On the person's partition: fold the moved state in and say so with a score update."""
        if signal.canonical_id is None or signal.state is None or signal.merge_id is None:
            raise ValueError("merge-in signal without canonical_id, state or merge_id")
        canonical_id = signal.canonical_id
        person = load(canonical_id)
        merged = merge_states(
            person, UserState.model_validate_json(signal.state), canonical_id, signal.merge_id, cfg
        )
        if merged is person:
            return  # this merge was folded in before
        previous = person.orbit_level if person is not None else 0
        if signal.merge_id.startswith(EVENT_MERGE):  # one forwarded event: its own update id
            update_id = f"{canonical_id}:{signal.merge_id.removeprefix(EVENT_MERGE)}"
        else:
            update_id = f"{canonical_id}:merge:{signal.merge_id}"
        await publish_merge_update(merged, previous, update_id, signal)
        store(merged, partition, merged.last_event_ms)

    async def handle_signal(event: Any) -> None:
        signal: UserSignal = event.value
        kind = signal_kind(signal, event.message)  # unknown: raises, and run_guarded dead-letters it
        if kind is SignalKind.INTERACTION and signal.canonical_id is not None:
            state = apply_interaction(
                load(signal.canonical_id),
                signal.canonical_id,
                signal.interaction_kind or "OTHER",
                from_ms(signal.occurred_at_ms),
                signal.direct,
                cfg,
                ref=signal.ref,
            )
            store(state, event.message.partition, max(signal.occurred_at_ms, state.last_event_ms))
        elif kind is SignalKind.MERGE_OUT:
            await handle_merge_out(signal, event.message.partition)
        elif kind is SignalKind.MERGE_IN:
            await handle_merge_in(signal, event.message.partition)

    # Both agents read, change and write ``users`` with awaits in between (the flush of
    # outputs): one at a time, so neither writes over a change the other just made.
    users_lock = asyncio.Lock()

    async def locked_batch(event: Any) -> None:
        async with users_lock:
            await handle_batch(event)

    async def locked_signal(event: Any) -> None:
        async with users_lock:
            await handle_signal(event)

    async def run_join(stream: Any) -> None:
        await run_guarded("user-activity", stream, locked_batch, dead_letters, ctx)

    async def run_signals(stream: Any) -> None:
        await run_guarded("user-signals", stream, locked_signal, dead_letters, ctx)

    app.agent(batches, name="user-activity", concurrency=1)(run_join)
    app.agent(join.user_signals, name="user-signals", concurrency=1)(run_signals)

    return batches.get_topic_name()
