"""The per-user join: one agent consumes both re-keyed streams into per-user table state.

Topics in:  product-by-user, community-by-user (resolved events, keyed by canonical id),
            user-signals (reach interactions and timer ticks, same keys and partitions).
Topics out: engagement-scores, churn-triggers, mentor help requests and solutions.

Faust has no working stream-stream join (faust/joins.py raises NotImplementedError), so
the join is this: both streams re-keyed by canonical id upstream, read here by one agent
into the ``users`` table. Absence triggers (silence, unanswered questions) need time to
pass without events: a timer sends each owned partition a tick carrying that partition's
event-time watermark, and the tick is handled inside stream iteration like any event, so
table writes stay on the right changelog partition. A tick judges only the users whose
due time (schedule.py) the watermark has passed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from schemas.models import AnswerAccepted, ApiCall, Event
from schemas.topics import CHURN_TRIGGERS, DEAD_LETTERS, ENGAGEMENT_SCORES
from streams.activity.join import BatchOutcome, JoinStep
from streams.activity.merge import merge_states
from streams.activity.process import StepResult, apply_interaction, check_absence, score_update
from streams.activity.schedule import DueQueue, next_check_ms
from streams.activity.state import Decayed, UserState
from streams.activity.watermarks import InputClocks
from streams.batches import decode_batch
from streams.context import StreamContext
from streams.errors import DeadLetters, Source, build_dead_letter, run_guarded
from streams.fastout import FastProducer
from streams.identity.agents import JoinTopics
from streams.mentors.agents import MentorTopics
from streams.messages import HelpRequest, Solution, UserSignal
from streams.partitioning import partition_of
from streams.tables import FastChangelogTable
from streams.timeconv import from_ms, from_ms_or_none, to_ms

USER_TABLE = "users"
WATERMARK_TABLE = "watermarks"
USER_EVENT_BATCHES = "user-event-batches"


def register(
    app: faust.App,
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
    help_name = mentors.help_requests.get_topic_name()
    solutions_name = mentors.solutions.get_topic_name()
    # The two join inputs, named as the watermarks table has always keyed them.
    join_topics = (join.product_by_user.get_topic_name(), join.community_by_user.get_topic_name())
    # Resolved events, many per record, one record per destination partition per batch.
    batches = app.topic(
        ctx.topic_name(USER_EVENT_BATCHES),
        key_serializer="raw",
        value_serializer="raw",
        partitions=n,
        internal=True,
    )
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
    watermarks = app.Table(WATERMARK_TABLE, default=None, partitions=n, key_type=str)
    # Derived from the tables, rebuilt after every rebalance (never a source of truth).
    max_ahead_ms = int(cfg.max_future_hours * 3_600_000)
    clocks = InputClocks(join_topics, max_ahead_ms=max_ahead_ms)
    due: dict[int, DueQueue] = {}

    def wall_ms() -> int:
        return to_ms(ctx.clock())

    def load(canonical_id: str) -> UserState | None:
        stored = users.get(canonical_id)
        return None if stored is None else UserState.model_validate_json(stored)

    def store(state: UserState, partition: int, now_ms: int) -> None:
        users[state.canonical_id] = state.model_dump_json().encode()
        queue = due.get(partition)
        if queue is not None:  # else built from the table on the partition's first tick
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
        partitions = {tp.partition for tp in revoked if tp.topic in join_topics}
        clocks.forget(partitions)
        for partition in partitions:
            due.pop(partition, None)

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
        return result.score_update is not None or bool(result.triggers)

    def route_to_mentors(record: Event, canonical_id: str) -> None:
        if isinstance(record, ApiCall) and record.payload.error_class:
            request = HelpRequest(
                canonical_id=canonical_id,
                error_class=record.payload.error_class,
                event_id=record.event_id,
                occurred_at_ms=to_ms(record.occurred_at),
                sent_at_ms=to_ms(record.sent_at) if record.sent_at else None,
            )
            producer.produce(help_name, request.dumps(serializer="json"), request.error_class.encode())
            outputs[help_name] += 1
        elif isinstance(record, AnswerAccepted):
            for tag in record.payload.tags:
                solution = Solution(
                    error_class=tag, solver_canonical_id=canonical_id, solved_at_ms=to_ms(record.occurred_at)
                )
                producer.produce(solutions_name, solution.dumps(serializer="json"), tag.encode())
                outputs[solutions_name] += 1

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

    async def handle_batch(event: Any) -> None:
        m = event.message
        outcome = step.run(decode_batch(m.value), load, ctx.clock())
        for applied in outcome.applied:
            publish(applied.canonical_id, applied.result)
            route_to_mentors(applied.event, applied.canonical_id)
        dead_letter_entries(outcome)
        # Outputs are acknowledged before state records their events as applied: a crash
        # in between replays the events (same outputs, same ids), never skips their outputs.
        await producer.flush()
        for state in outcome.states.values():
            store(state, m.partition, state.last_event_ms)
        now = wall_ms()
        for community, at in outcome.clocks.items():
            clocks.advance(m.partition, join_topics[1] if community else join_topics[0], at, now)

    def restore_clocks(partition: int) -> None:
        """After a restart or a rebalance the in-memory clocks start from the table."""
        for topic in join_topics:
            stored = watermarks.get(f"{partition}:{topic}")
            if stored is not None:
                clocks.restore(partition, topic, (stored[0], stored[1]))

    def persist_clocks(partition: int) -> None:
        """Bring the table up to the in-memory clocks (only on ticks, see watermarks.py)."""
        restore_clocks(partition)
        for topic in join_topics:
            key = f"{partition}:{topic}"
            current = clocks.get(partition, topic)
            stored = watermarks.get(key)
            if current is not None and (stored is None or stored[0] != current[0]):
                watermarks[key] = list(current)

    async def handle_tick(partition: int, watermark_ms: int) -> None:
        persist_clocks(partition)
        # Judge absence at the watermark the previous tick carried: signals that cancel
        # a risk (an answer from another partition) travel extra hops and may lag the
        # watermark by moments, never by a whole tick interval.
        previous = watermarks.get(f"tick:{partition}")
        watermarks[f"tick:{partition}"] = watermark_ms
        if previous is None:
            return
        now = from_ms(previous)
        queue = queue_for(partition)
        changed: list[UserState] = []
        published = False
        for canonical_id in queue.pop_due(previous):
            state = load(canonical_id)
            if state is None:
                continue
            result = check_absence(state, now, cfg, emitted_at=ctx.clock())
            if result.state != state:
                changed.append(result.state)
            queue.set(canonical_id, next_check_ms(result.state, previous, cfg))
            published |= publish(canonical_id, result)
        if published:
            await producer.flush()  # outputs before the state that says they were made
        for state in changed:
            users[state.canonical_id] = state.model_dump_json().encode()

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
            kind="merge-in",
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
        # Marked, it also leaves the due queue: ticks never judge a husk.
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
        await publish_merge_update(merged, previous, f"{canonical_id}:merge:{signal.merge_id}", signal)
        store(merged, partition, merged.last_event_ms)

    async def handle_signal(event: Any) -> None:
        signal: UserSignal = event.value
        if signal.kind == "interaction" and signal.canonical_id is not None:
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
        elif signal.kind == "tick":
            await handle_tick(event.message.partition, signal.occurred_at_ms)
        elif signal.kind == "merge-out":
            await handle_merge_out(signal, event.message.partition)
        elif signal.kind == "merge-in":
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

    async def tick() -> None:
        """Send each partition this worker owns a tick at that partition's watermark."""
        signals_topic = join.user_signals.get_topic_name()
        now_wall = wall_ms()
        for tp in app.consumer.assignment():
            if tp.topic != signals_topic:
                continue
            if clocks.watermark(tp.partition, now_wall) is None:
                restore_clocks(tp.partition)
            watermark = clocks.watermark(tp.partition, now_wall)
            if watermark is None:
                continue
            await join.user_signals.send(
                key=f"tick-{tp.partition}",
                value=UserSignal(kind="tick", occurred_at_ms=watermark),
                partition=tp.partition,
                force=True,
            )

    app.timer(ctx.settings.worker.tick_interval_s, name="absence-tick")(tick)
    return batches.get_topic_name()
