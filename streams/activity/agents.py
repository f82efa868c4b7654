"""The per-user join: one agent consumes both re-keyed streams into per-user table state.

Topics in:  user-event-batches (resolved events of both inputs, interactions and identity
            links' merge markers, many to a record, with the resolve stages' clocks),
            user-signals (a merged id's activity moving to its person).
Topics out: engagement-scores, churn-triggers, account-health, mentor help requests and solutions.

Faust has no working stream-stream join (faust/joins.py raises NotImplementedError), so
the join is this: both inputs resolved to canonical ids upstream, read here by one agent
into the ``users`` table, in one event-time order across every input partition
(streams/ordering.py), whatever the arrival order (the fold itself: folding.py). Absence triggers
(silence, unanswered questions) need time to pass without events: each user has a due
time (schedule.py), and a user is judged at exactly that event time, between the events
before it and those after it, once every input has passed it. Judgements therefore
depend on the events only.

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
    IDENTITY_LINKS,
    PRODUCT_EVENTS,
)
from streams.activity.folding import Folder, FoldHooks, FoldOut
from streams.activity.join import Applied, BatchOutcome, JoinStep
from streams.activity.process import StepResult
from streams.activity.schedule import DueQueue, next_check_ms
from streams.batches import ResolvedEntry, decode_batch
from streams.context import StreamContext
from streams.errors import DeadLetters, Source, build_dead_letter, run_guarded
from streams.fastout import FastProducer
from streams.identity.agents import JoinTopics
from streams.mentors.agents import MentorTopics
from streams.mentors.outbox import MentorOutbox
from streams.mentors.routing import mentor_records
from streams.messages import UserSignal, signal_kind
from streams.ordering import EventTimeMerge, sources_of
from streams.partitioning import partition_of
from streams.state import UserState
from streams.tables import FastChangelogTable
from streams.timeconv import to_ms
from streams.transport import WorkerApp

USER_TABLE = "users"
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
    # Links first: a link and an event of the same tag, the link applies to the event.
    sources = sources_of(
        (ctx.topic_name(IDENTITY_LINKS), ctx.topic_name(PRODUCT_EVENTS), ctx.topic_name(COMMUNITY_EVENTS)), n
    )
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
    # Derived from the tables and the input, built when this worker takes a partition
    # on and kept while it owns it (never a source of truth): per owned partition, its
    # due queue, its merge of waiting events, and the offsets of records with events
    # still waiting (offset -> how many).
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

    def queue_for(partition: int) -> DueQueue:
        """The partition's due queue; after a rebalance, one scan of the table builds the
        queues of every partition this worker now owns, not one scan per partition."""
        if partition not in due:
            signals_topic = join.user_signals.get_topic_name()
            owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == signals_topic}
            fresh = {p: DueQueue() for p in owned | {partition} if p not in due}
            # Items, not keys then get: inside a handler Faust's RocksDB store reads a key
            # from the current record's partition, so other partitions' users read as
            # missing and their queues came out empty (judgements lost after a restart).
            for canonical_id, stored in list(users.items()):
                queue = fresh.get(partition_of(canonical_id, n))
                if queue is None or stored is None:
                    continue
                state = UserState.model_validate_json(stored)
                since = state.last_event_ms if state.due_from_ms is None else state.due_from_ms
                queue.set(canonical_id, next_check_ms(state, since, cfg))
            due.update(fresh)
        return due[partition]

    def on_assigned(_app: Any, *args: Any, signal: Any, **_kwargs: Any) -> None:
        """Forget what this worker held for the partitions it no longer owns: their
        records were never committed past, so their next owner reads them again.

        Not at revocation: a rebalance revokes every partition and most come straight
        back. Dropping their waiting entries then lost events in a worker-join-leave fault
        run, because Faust went on from records fetched before the rebalance and skipped
        the ones between (now mended where records are fetched, streams/continuity.py);
        keeping what a partition holds while it is owned needs no re-reading at all."""
        assigned: set[Any] = args[0]  # mode signals call receiver(sender, assigned, signal=...)
        owned = {tp.partition for tp in assigned if tp.topic in owned_topics}
        for partition in (set(due) | set(merges) | set(held) | set(folder.parked)) - owned:
            due.pop(partition, None)
            merges.pop(partition, None)
            held.pop(partition, None)
            folder.forget(partition)

    # mode's handler type is a Protocol no plain function satisfies under mypy.
    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]

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

    def tell_mentors(partition: int) -> None:
        """After a fold: this partition's mentor records, and how far it has got (entries
        parked for a person waiting on a merge are not released yet)."""
        merge = merges.get(partition)
        if merge is None:
            return
        watermark, floor = merge.watermark(), folder.parked_floor(partition)
        if floor is not None:
            watermark = floor if watermark is None else min(watermark, floor)
        to_mentors.send(partition, watermark, merge.idle() and floor is None)

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

    folder = Folder(
        cfg,
        step,
        FoldHooks(
            load=load,
            publish=publish,
            route_to_mentors=route_to_mentors,
            dead_letter=dead_letter_entries,
            clock=ctx.clock,
        ),
    )
    signals_name = join.user_signals.get_topic_name()

    def send_signal(signal: UserSignal) -> None:
        # Faust's own JSON for the record, so the user-signals agent reads it as usual.
        producer.produce(signals_name, signal.dumps(serializer="json"), (signal.canonical_id or "").encode())
        outputs[signals_name] += 1

    async def finish(partition: int, out: FoldOut) -> None:
        """Send what the fold asks, then write the states; the entries it consumed no
        longer hold their records' offsets back."""
        for signal in out.signals:
            send_signal(signal)
        # Outputs are acknowledged before state records their events as applied: a crash
        # in between replays the events (same outputs, same ids), never skips their outputs.
        await producer.flush()
        for state in out.changed.values():
            users[state.canonical_id] = state.model_dump_json().encode()
        holds = held.get(partition, {})
        for offset in out.done:
            if offset in holds:
                holds[offset] -= 1
                if not holds[offset]:
                    del holds[offset]

    async def handle_batch(event: Any) -> None:
        m = event.message
        batch = decode_batch(m.value)
        merge = merges.get(m.partition)
        if merge is None:
            merge = merges[m.partition] = EventTimeMerge(sources)
        waiting = sum(merge.add(e.source, e.tag, e.sequence, (e, m.offset)) for e in batch.entries)
        if waiting:  # no commit past this record until its entries are folded in
            held.setdefault(m.partition, {})[m.offset] = waiting
        merge.report(batch.clocks)
        released = list(merge.release())
        out = folder.fold(m.partition, released, merge.watermark(), queue_for(m.partition))
        tell_mentors(m.partition)
        await finish(m.partition, out)

    async def handle_signal(event: Any) -> None:
        signal: UserSignal = event.value
        signal_kind(signal, event.message)  # unknown: raises, and run_guarded dead-letters it
        partition = event.message.partition
        merge = merges.get(partition)
        watermark = merge.watermark() if merge is not None else None
        out = folder.receive_merge(partition, signal, watermark, queue_for(partition))
        tell_mentors(partition)
        await finish(partition, out)

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
