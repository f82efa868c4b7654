"""What the join sends the mentor matcher for one applied event (pure)."""

from __future__ import annotations

from schemas.models import AnswerAccepted, ApiCall, Event
from streams.messages import HelpRequest, Solution
from streams.state import UserState
from streams.timeconv import to_ms


def mentor_records(event: Event, state: UserState) -> list[HelpRequest | Solution]:
    """A failed API call is a help request; an accepted answer solves each of its tags.

    ``state`` is the user's after the event: their team and orbit level go along.
    """
    if isinstance(event, ApiCall) and event.payload.error_class:
        return [
            HelpRequest(
                canonical_id=state.canonical_id,
                error_class=event.payload.error_class,
                event_id=event.event_id,
                occurred_at_ms=to_ms(event.occurred_at),
                sent_at_ms=to_ms(event.sent_at) if event.sent_at else None,
                team=state.team,
            )
        ]
    if isinstance(event, AnswerAccepted):
        return [
            Solution(
                error_class=tag,
                solver_canonical_id=state.canonical_id,
                solved_at_ms=to_ms(event.occurred_at),
                solver_orbit_level=state.orbit_level,
                solver_team=state.team,
            )
            for tag in event.payload.tags
        ]
    return []
