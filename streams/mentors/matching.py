"""One mentor input record applied to its class's index (pure, no Kafka here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foundation.settings import MentorSettings
from streams.mentors.index import (
    Candidate,
    Pattern,
    applied_before,
    empty_index,
    mark_applied,
    record_error,
    record_solution,
    suggest,
)
from streams.mentors.ordering import Position
from streams.messages import HelpRequest, Solution


@dataclass(frozen=True)
class Suggested:
    """A help request that completed a pattern and found mentors."""

    request: HelpRequest
    pattern: Pattern
    mentors: list[Candidate]


def apply_record(
    index: dict[str, Any] | None, record: HelpRequest | Solution, cfg: MentorSettings
) -> tuple[dict[str, Any], Suggested | None]:
    """The class's index after ``record``, and the suggestion it makes (if any)."""
    current = index or empty_index()
    if isinstance(record, Solution):
        updated = record_solution(
            current,
            record.solver_canonical_id,
            record.solved_at_ms,
            cfg,
            orbit_level=record.solver_orbit_level,
            team=record.solver_team,
        )
        return updated, None
    at_ms = record.occurred_at_ms
    pattern, updated = record_error(current, record.canonical_id, at_ms, cfg)
    if pattern.count < cfg.pattern_count:
        return updated, None
    chosen, updated = suggest(updated, record.canonical_id, at_ms, cfg, team=record.team)
    return updated, Suggested(record, pattern, chosen) if chosen else None


def apply_once(
    index: dict[str, Any] | None,
    record: HelpRequest | Solution,
    position: Position | None,
    cfg: MentorSettings,
) -> tuple[dict[str, Any], Suggested | None] | None:
    """As :func:`apply_record`, noting ``position`` in the index; None if the index holds it
    already (a record read again after a restart)."""
    if (
        position is not None
        and index is not None
        and applied_before(index, position.user, position.origin, position.mark)
    ):
        return None
    updated, suggested = apply_record(index, record, cfg)
    if position is not None:
        updated = mark_applied(updated, position.user, position.origin, position.mark)
    return updated, suggested
