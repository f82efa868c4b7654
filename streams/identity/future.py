"""Events dated too far ahead of the worker's clock are refused at the resolve stage.

Event time comes from senders, whose clocks may be wrong: one event dated days ahead would
move its partition's clock days ahead, and the join (which folds events in event-time
order across partitions, streams/ordering.py) would judge absence days early (silence
"fired" in the future, a usage drop missed). Events further ahead than a tolerance are
dead-lettered with the reason, before they can move a clock.
"""

from __future__ import annotations

from streams.exceptions import FutureEventError
from streams.timeconv import from_ms


def future_problem(event_ms: int, wall_ms: int, max_ahead_ms: int) -> str | None:
    """Why an event dated ``event_ms`` is too far ahead of the wall clock (None: it is not)."""
    ahead = event_ms - wall_ms
    if ahead <= max_ahead_ms:
        return None
    return (
        f"field occurred_at {from_ms(event_ms).isoformat()} is {ahead / 3_600_000:.1f} h ahead of "
        f"the worker's clock {from_ms(wall_ms).isoformat()} (tolerance {max_ahead_ms / 3_600_000:g} h)"
    )


def require_not_future(event_ms: int, wall_ms: int, max_ahead_ms: int) -> None:
    """Raise :class:`FutureEventError` (so the event is dead-lettered) if it is too far ahead."""
    problem = future_problem(event_ms, wall_ms, max_ahead_ms)
    if problem is not None:
        raise FutureEventError(problem)
