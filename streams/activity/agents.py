"""The per-user join: one agent consumes both re-keyed streams into per-user table state.

Topics in:  product-by-user, community-by-user (resolved events, keyed by canonical id),
            user-signals (reach interactions and timer ticks, same keys and partitions).
Topics out: engagement-scores, churn-triggers, mentor help requests and solutions.

Faust has no working stream-stream join (faust/joins.py raises NotImplementedError), so
the join is this: both streams re-keyed by canonical id upstream, read here by one agent
into the ``users`` table. Absence triggers (silence, unanswered questions) need time to
pass without events: a timer sends each owned partition a tick carrying that partition's
event-time watermark, and the tick is handled inside stream iteration like any event, so
table writes stay on the right changelog partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
from aiokafka.partitioner import murmur2

from schemas.models import AnswerAccepted, ApiCall, Event
from schemas.topics import CHURN_TRIGGERS, ENGAGEMENT_SCORES
from streams.activity.process import StepResult, apply_event, apply_interaction, check_absence
from streams.activity.state import HOUR_MS, UserState
from streams.channels import avro_topic
from streams.context import StreamContext
from streams.errors import DeadLetters, run_guarded
from streams.exceptions import UnexpectedRecordError
from streams.identity.agents import JoinTopics
from streams.mentors.agents import MentorTopics
from streams.messages import HelpRequest, Solution, UserSignal
from streams.timeconv import from_ms, to_ms

USER_TABLE = "users"
WATERMARK_TABLE = "watermarks"
WATERMARK_STEP_MS = 60_000
IDLE_INPUT_MS = 5 * 60_000


def combine_watermarks(inputs: list[tuple[int, int]], now_wall_ms: int) -> int | None:
    """The event time all join inputs of a partition have reached.

    ``inputs`` holds (event time reached, wall time it was recorded) per input. The minimum,
    so one topic read ahead of the other never makes the other's users look idle (in a
    replay both inputs flow, and the minimum holds). An input with nothing new for
    ``IDLE_INPUT_MS`` of wall time is idle, not slow, and stops holding the watermark back
    (Flink's idleness rule); else a partition with little community activity would never
    judge absence at all.
    """
    active = [event_ms for event_ms, wall_ms in inputs if now_wall_ms - wall_ms < IDLE_INPUT_MS]
    candidates = active or [event_ms for event_ms, _ in inputs]
    return min(candidates) if candidates else None


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives ``key``."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def register(
    app: faust.App,
    ctx: StreamContext,
    dead_letters: DeadLetters,
    join: JoinTopics,
    mentors: MentorTopics,
) -> None:
    n = ctx.partitions
    cfg = ctx.settings.streams
    scores_out = avro_topic(app, ctx.topic_name(ENGAGEMENT_SCORES), partitions=n)
    triggers_out = avro_topic(app, ctx.topic_name(CHURN_TRIGGERS), partitions=n)
    # Both re-keyed streams, read by the one joining agent.
    joined = avro_topic(
        app, join.product_by_user.get_topic_name(), join.community_by_user.get_topic_name(), partitions=n
    )
    users = app.Table(USER_TABLE, default=None, partitions=n, key_type=str)
    watermarks = app.Table(WATERMARK_TABLE, default=None, partitions=n, key_type=str)
    serde = ctx.serde

    def load(canonical_id: str) -> UserState | None:
        stored = users.get(canonical_id)
        return None if stored is None else UserState.model_validate(stored)

    join_topics = (join.product_by_user.get_topic_name(), join.community_by_user.get_topic_name())

    def advance_watermark(topic: str, partition: int, occurred_ms: int) -> None:
        # Minute steps: absence rules work in hours and days, and every write is a
        # changelog message, so writing per event would double the join's output.
        # Stored with the wall clock of the write, to tell an idle input from a slow one.
        key = f"{partition}:{topic}"
        current = watermarks.get(key)
        if current is None or occurred_ms >= current[0] + WATERMARK_STEP_MS:
            watermarks[key] = [occurred_ms, to_ms(ctx.clock())]

    def partition_watermark(partition: int) -> int | None:
        seen = [w for w in (watermarks.get(f"{partition}:{topic}") for topic in join_topics) if w is not None]
        return combine_watermarks([(event_ms, wall_ms) for event_ms, wall_ms in seen], to_ms(ctx.clock()))

    async def publish(canonical_id: str, result: StepResult) -> None:
        # State is written before any await, so the two agents writing ``users`` never
        # interleave a read-modify-write of one user.
        if result.score_update is not None:
            await scores_out.send(
                key=canonical_id.encode(),
                value=serde.encode(result.score_update, scores_out.get_topic_name()),
                force=True,
            )
            ctx.health.outputs[ENGAGEMENT_SCORES] += 1
        for trigger in result.triggers:
            await triggers_out.send(
                key=canonical_id.encode(),
                value=serde.encode(trigger, triggers_out.get_topic_name()),
                force=True,
            )
            ctx.health.outputs[CHURN_TRIGGERS] += 1

    async def route_to_mentors(record: Event, canonical_id: str) -> None:
        if isinstance(record, ApiCall) and record.payload.error_class:
            request = HelpRequest(
                canonical_id=canonical_id,
                error_class=record.payload.error_class,
                event_id=record.event_id,
                occurred_at_ms=to_ms(record.occurred_at),
                sent_at_ms=to_ms(record.sent_at) if record.sent_at else None,
            )
            await mentors.help_requests.send(key=request.error_class, value=request, force=True)
        elif isinstance(record, AnswerAccepted):
            for tag in record.payload.tags:
                solution = Solution(
                    error_class=tag, solver_canonical_id=canonical_id, solved_at_ms=to_ms(record.occurred_at)
                )
                await mentors.solutions.send(key=tag, value=solution, force=True)

    async def handle_event(event: Any) -> None:
        m = event.message
        record = serde.decode(m.value, topic=m.topic, partition=m.partition, offset=m.offset)
        if not isinstance(record, Event) or record.canonical_id is None:
            raise UnexpectedRecordError(m, type(record).__name__, "a resolved product or community event")
        canonical_id = record.canonical_id
        result = apply_event(load(canonical_id), record, canonical_id, cfg, emitted_at=ctx.clock())
        users[canonical_id] = result.state.model_dump(mode="json")
        advance_watermark(m.topic, m.partition, to_ms(record.occurred_at))
        await publish(canonical_id, result)
        await route_to_mentors(record, canonical_id)

    def users_on(partition: int) -> Iterator[str]:
        for key in list(users.keys()):
            if partition_of(key, n) == partition:
                yield key

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
            users[signal.canonical_id] = state.model_dump(mode="json")
            return
        if signal.kind == "tick":
            # Judge absence at the watermark the previous tick carried: signals that cancel
            # a risk (an answer from another partition) travel extra hops and may lag the
            # watermark by moments, never by a whole tick interval.
            partition = event.message.partition
            previous = watermarks.get(f"tick:{partition}")
            watermarks[f"tick:{partition}"] = signal.occurred_at_ms
            if previous is None:
                return
            now = from_ms(previous)
            hour = previous // HOUR_MS
            for canonical_id in users_on(partition):
                stored = users.get(canonical_id)
                # Absence rules work in hours and days: judge each user once per event-time
                # hour, deciding on the stored dict before paying for parsing it.
                if stored is None or stored.get("absence_checked_hour", -1) >= hour:
                    continue
                result = check_absence(UserState.model_validate(stored), now, cfg, emitted_at=ctx.clock())
                checked = result.state.model_copy(update={"absence_checked_hour": hour})
                users[canonical_id] = checked.model_dump(mode="json")
                await publish(canonical_id, result)

    async def run_join(stream: Any) -> None:
        await run_guarded("user-activity", stream, handle_event, dead_letters, ctx)

    async def run_signals(stream: Any) -> None:
        await run_guarded("user-signals", stream, handle_signal, dead_letters, ctx)

    app.agent(joined, name="user-activity", concurrency=1)(run_join)
    app.agent(join.user_signals, name="user-signals", concurrency=1)(run_signals)

    async def tick() -> None:
        """Send each partition this worker owns a tick at that partition's watermark."""
        signals_topic = join.user_signals.get_topic_name()
        for tp in app.consumer.assignment():
            if tp.topic != signals_topic:
                continue
            watermark = partition_watermark(tp.partition)
            if watermark is None:
                continue
            await join.user_signals.send(
                key=f"tick-{tp.partition}",
                value=UserSignal(kind="tick", occurred_at_ms=watermark),
                partition=tp.partition,
                force=True,
            )

    app.timer(ctx.settings.worker.tick_interval_s, name="absence-tick")(tick)
