"""Mentor matching: members who recently solved the error class a user keeps hitting.

Topics in:  help-requests-by-class, solutions-by-class (internal, keyed by error class,
            fed by the user-activity agent).
Topics out: mentor-suggestions.
Both inputs are keyed by error class, so one agent sees a class's solutions and requests
and keeps the class's recent solvers, and who failed on it lately, in the ``solvers``
table. A suggestion needs a pattern (index.py): the same class failing ``pattern_count``
times within ``pattern_window_hours`` for one user. Records read again after a crash are
recognised by their offsets and change nothing. They are applied in arrival order, so
which solutions a request sees can depend on timing (docs/streams.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from schemas.models import Mentor, MentorSuggestion
from schemas.topics import MENTOR_SUGGESTIONS
from streams.channels import avro_topic, record_topic
from streams.context import StreamContext
from streams.errors import DeadLetters, run_guarded
from streams.exceptions import UnexpectedRecordError
from streams.mentors.index import (
    Candidate,
    Pattern,
    applied_before,
    empty_index,
    mark_applied,
    reason,
    record_error,
    record_solution,
    suggest,
)
from streams.messages import HelpRequest, Solution
from streams.timeconv import from_ms, from_ms_or_none

HELP_REQUESTS = "help-requests-by-class"
SOLUTIONS = "solutions-by-class"
SOLVER_TABLE = "solvers"


@dataclass(frozen=True)
class MentorTopics:
    help_requests: Any
    solutions: Any


def register(app: faust.App, ctx: StreamContext, dead_letters: DeadLetters) -> MentorTopics:
    n = ctx.partitions
    cfg = ctx.settings.mentors
    help_requests = record_topic(app, ctx.topic_name(HELP_REQUESTS), value_type=HelpRequest, partitions=n)
    solutions = record_topic(app, ctx.topic_name(SOLUTIONS), value_type=Solution, partitions=n)
    # Both class-keyed streams in one agent: records carry their type, so no value_type.
    both = record_topic(
        app, ctx.topic_name(HELP_REQUESTS), ctx.topic_name(SOLUTIONS), value_type=None, partitions=n
    )
    suggestions_out = avro_topic(app, ctx.topic_name(MENTOR_SUGGESTIONS), partitions=n)
    solvers = app.Table(SOLVER_TABLE, default=None, partitions=n, key_type=str)

    async def handle(event: Any) -> None:
        value, m = event.value, event.message
        source = f"{m.topic}:{m.partition}"
        if isinstance(value, Solution):
            index = solvers.get(value.error_class) or empty_index()
            if applied_before(index, source, m.offset):
                return  # read again after a crash: counted once
            index = record_solution(
                index,
                value.solver_canonical_id,
                value.solved_at_ms,
                cfg,
                orbit_level=value.solver_orbit_level,
                team=value.solver_team,
            )
            solvers[value.error_class] = mark_applied(index, source, m.offset)
            return
        if not isinstance(value, HelpRequest):
            raise UnexpectedRecordError(event.message, type(value).__name__, "HelpRequest or Solution")
        at_ms = value.occurred_at_ms
        index = solvers.get(value.error_class) or empty_index()
        if applied_before(index, source, m.offset):
            return
        pattern, index = record_error(index, value.canonical_id, at_ms, cfg)
        chosen: list[Candidate] = []
        if pattern.count >= cfg.pattern_count:
            chosen, index = suggest(index, value.canonical_id, at_ms, cfg, team=value.team)
        index = mark_applied(index, source, m.offset)
        if chosen:
            await emit(value, pattern, chosen, at_ms)
        # Written after the suggestion is delivered: a crash in between applies the
        # request again (same suggestion id), never marks it applied without its suggestion.
        solvers[value.error_class] = index

    async def emit(value: HelpRequest, pattern: Pattern, chosen: list[Candidate], at_ms: int) -> None:
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
            error_count=pattern.count,
            first_error_at=from_ms(pattern.first_ms),
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
        await delivery
        ctx.health.outputs[suggestions_out.get_topic_name()] += 1

    async def run(stream: Any) -> None:
        await run_guarded("mentor-matching", stream, handle, dead_letters, ctx)

    app.agent(both, name="mentor-matching", concurrency=1)(run)
    return MentorTopics(help_requests=help_requests, solutions=solutions)
