"""How a partition's event-time watermark combines the join's inputs."""

import pytest

from infra.settings import StreamSettings
from streams.activity.watermarks import (
    IDLE_INPUT_MS,
    InputClocks,
    combine_watermarks,
    future_problem,
    require_not_future,
)
from streams.exceptions import FutureEventError


def test_watermark_is_the_slowest_active_input_and_ignores_idle_ones() -> None:
    now = 10 * IDLE_INPUT_MS
    assert combine_watermarks([], now) is None
    # Both flowing (a replay): the slower one holds the watermark back.
    assert combine_watermarks([(5_000, now), (90_000, now)], now) == 5_000
    # Community quiet for longer than the idleness bound: product time alone counts.
    assert combine_watermarks([(5_000, now - IDLE_INPUT_MS), (90_000, now)], now) == 90_000
    # Everything idle: the slowest still wins.
    assert combine_watermarks([(5_000, 0), (90_000, 0)], now) == 5_000


HOUR = 3_600_000
WALL = 1_772_442_000_000  # 2026-03-02T09:00:00Z


def test_an_event_further_ahead_than_the_tolerance_is_refused_with_its_reason() -> None:
    tolerance = int(StreamSettings().max_future_hours * HOUR)
    assert tolerance == 24 * HOUR
    assert future_problem(WALL + 24 * HOUR, WALL, tolerance) is None  # at the bound: accepted
    assert future_problem(WALL - 90 * 24 * HOUR, WALL, tolerance) is None  # the past is fine
    with pytest.raises(FutureEventError) as raised:
        require_not_future(WALL + 72 * HOUR, WALL, tolerance)
    assert str(raised.value) == (
        "field occurred_at 2026-03-05T09:00:00+00:00 is 72.0 h ahead of the worker's clock "
        "2026-03-02T09:00:00+00:00 (tolerance 24 h)"
    )


def test_an_event_from_the_future_never_moves_the_watermark() -> None:
    clocks = InputClocks(["product", "community"], max_ahead_ms=24 * HOUR)
    clocks.advance(0, "product", WALL - HOUR, WALL)
    clocks.advance(0, "community", WALL - 2 * HOUR, WALL - IDLE_INPUT_MS)  # idle: product alone counts
    clocks.advance(0, "product", WALL + 72 * HOUR, WALL)
    assert clocks.get(0, "product") == (WALL - HOUR, WALL)
    assert clocks.watermark(0, WALL) == WALL - HOUR
    clocks.advance(0, "product", WALL + 23 * HOUR, WALL)  # within the tolerance: moves it
    assert clocks.watermark(0, WALL) == WALL + 23 * HOUR
