"""How a partition's event-time watermark combines the join's inputs."""

from streams.activity.watermarks import IDLE_INPUT_MS, combine_watermarks


def test_watermark_is_the_slowest_active_input_and_ignores_idle_ones() -> None:
    now = 10 * IDLE_INPUT_MS
    assert combine_watermarks([], now) is None
    # Both flowing (a replay): the slower one holds the watermark back.
    assert combine_watermarks([(5_000, now), (90_000, now)], now) == 5_000
    # Community quiet for longer than the idleness bound: product time alone counts.
    assert combine_watermarks([(5_000, now - IDLE_INPUT_MS), (90_000, now)], now) == 90_000
    # Everything idle: the slowest still wins.
    assert combine_watermarks([(5_000, 0), (90_000, 0)], now) == 5_000
