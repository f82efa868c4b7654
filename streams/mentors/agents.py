"""Mentor matching: members who recently solved the error class a user keeps hitting.

Topics in:  help-requests-by-class, solutions-by-class (internal, keyed by error class,
            fed by the user-activity agent).
Topics out: mentor-suggestions.
Both inputs are keyed by error class, so one agent sees a class's solutions and requests
and keeps the class's recent solvers, and who failed on it lately, in the ``solvers``
table. A suggestion needs a pattern (index.py): the same class failing ``pattern_count``
times within ``pattern_window_hours`` for one user.

Records are applied in the join's event-time order, not in arrival order (ordering.py):
each waits until every join partition has passed its tag. A record still waiting caps the
offsets Faust commits (transport.py), and each class's index remembers the last record
applied per channel (join partition and topic) and input partition, so after a crash the
records read again are applied once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.models import Mentor, MentorSuggestion
from schemas.topics import MENTOR_SUGGESTIONS
from streams.channels import avro_topic, record_topic
from streams.context import StreamContext
from streams.errors import Action, DeadLetters, classify, run_guarded
from streams.exceptions import UnexpectedRecordError
from streams.mentors.index import reason
from streams.mentors.matching import Suggested, apply_once
from streams.mentors.ordering import HELP_KIND, SOLUTIONS_KIND, Kind, MentorMerge, Position
from streams.messages import HelpRequest, MentorClock, Solution
from streams.timeconv import from_ms, from_ms_or_none
from streams.transport import WorkerApp

HELP_REQUESTS = "help-requests-by-class"
SOLUTIONS = "solutions-by-class"
SOLVER_TABLE = "solvers"


@dataclass(frozen=True)
class MentorTopics:
    help_requests: Any
    solutions: Any


def register(app: WorkerApp, ctx: StreamContext, dead_letters: DeadLetters) -> MentorTopics:
    n = ctx.partitions
    cfg = ctx.settings.mentors
    help_requests = record_topic(app, ctx.topic_name(HELP_REQUESTS), value_type=HelpRequest, partitions=n)
    solutions = record_topic(app, ctx.topic_name(SOLUTIONS), value_type=Solution, partitions=n)
    help_name, solutions_name = help_requests.get_topic_name(), solutions.get_topic_name()
    # Both class-keyed streams in one agent: records carry their type, so no value_type.
    both = record_topic(app, help_name, solutions_name, value_type=None, partitions=n)
    suggestions_out = avro_topic(app, ctx.topic_name(MENTOR_SUGGESTIONS), partitions=n)
    solvers = app.Table(SOLVER_TABLE, default=None, partitions=n, key_type=str)
    # Derived, rebuilt after a rebalance from the records read again: per owned partition
    # its waiting records, and per (topic, partition) the offsets of records still waiting.
    merges: dict[int, MentorMerge[Any]] = {}
    held: dict[tuple[str, int], set[int]] = {}

    def commit_cap(topic: str, partition: int) -> int | None:
        waiting = held.get((topic, partition))
        return min(waiting) if waiting else None

    app.add_commit_cap(commit_cap)

    def on_revoked(_app: Any, *args: Any, signal: Any, **_kwargs: Any) -> None:
        revoked: set[Any] = args[0]  # mode signals call receiver(sender, revoked, signal=...)
        for tp in revoked:
            if tp.topic in (help_name, solutions_name):
                # Never acked past: the next owner reads them again.
                merges.pop(tp.partition, None)
                held.pop((tp.topic, tp.partition), None)

    # mode's handler type is a Protocol no plain function satisfies under mypy.
    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]

    def kind_of(topic: str) -> Kind:
        return SOLUTIONS_KIND if topic == solutions_name else HELP_KIND

    async def emit(suggested: Suggested) -> None:
        value, at_ms, chosen = suggested.request, suggested.request.occurred_at_ms, suggested.mentors
        occurred = from_ms(at_ms)
        suggestion = MentorSuggestion(
            suggestion_id=f"{value.canonical_id}:{value.error_class}:{value.event_id}",
            canonical_id=value.canonical_id,
            error_class=value.error_class,
            mentors=[
                Mentor(
                    canonical_id=c.canonical_id,
                    solved_count=c.solved_count,
                    last_solved_at=from_ms(c.last_solved_ms),
                    orbit_level=c.orbit_level,
                    is_inner_orbit=c.is_inner,
                    reason=reason(c, value.error_class, at_ms),
                )
                for c in chosen
            ],
            suggested_at=occurred,
            error_count=suggested.pattern.count,
            first_error_at=from_ms(suggested.pattern.first_ms),
            source_event_id=value.event_id,
            source_occurred_at=occurred,
            source_sent_at=from_ms_or_none(value.sent_at_ms),
            emitted_at=ctx.clock(),
        )
        delivery = await suggestions_out.send(
            key=value.canonical_id.encode(),
            value=ctx.serde.encode(suggestion, suggestions_out.get_topic_name()),
            force=True,
        )
        # Delivered before the index says the request was applied: a crash in between
        # applies it again (same suggestion id), never skips its suggestion.
        await delivery
        ctx.health.outputs[suggestions_out.get_topic_name()] += 1

    async def apply(record: HelpRequest | Solution, position: Position | None) -> None:
        outcome = apply_once(solvers.get(record.error_class), record, position, cfg)
        if outcome is None:
            return  # applied before a restart: this is the copy read again
        updated, suggested = outcome
        if suggested is not None:
            await emit(suggested)
        solvers[record.error_class] = updated

    def merge_of(partition: int) -> MentorMerge[Any]:
        merge = merges.get(partition)
        if merge is None:
            merge = merges[partition] = MentorMerge(n)
        return merge

    async def handle(event: Any) -> None:
        value, m = event.value, event.message
        merge = merge_of(m.partition)
        if isinstance(value, MentorClock):
            merge.offer_clock(kind_of(m.topic), value)
        elif isinstance(value, HelpRequest | Solution):
            if not merge.offer(kind_of(m.topic), value, event):
                await apply(value, None)  # from a sender without the order: as it arrives
                return
            # No commit past this record until it is applied.
            held.setdefault((m.topic, m.partition), set()).add(m.offset)
        else:
            raise UnexpectedRecordError(m, type(value).__name__, "HelpRequest, Solution or MentorClock")
        for position, waiting in list(merge.release()):
            try:
                await apply(waiting.value, position)
            except Exception as exc:  # that record's problem, not this event's: it is dead-lettered
                if classify(exc) is Action.FATAL:
                    raise
                await dead_letters.send(waiting, exc, "mentor-matching")
            source = waiting.message
            held.get((source.topic, source.partition), set()).discard(source.offset)

    async def run(stream: Any) -> None:
        await run_guarded("mentor-matching", stream, handle, dead_letters, ctx)

    app.agent(both, name="mentor-matching", concurrency=1)(run)
    return MentorTopics(help_requests=help_requests, solutions=solutions)
