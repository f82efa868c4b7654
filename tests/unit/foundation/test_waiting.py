"""poll_until, on a fake clock: it returns the first answer, or None at the deadline."""

from __future__ import annotations

import pytest

from foundation.waiting import poll_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_first_answer_is_returned_and_polling_stops() -> None:
    clock = FakeClock()
    answers = iter([None, False, "ready", "later"])
    assert poll_until(lambda: next(answers), 10, 0.5, clock=clock, sleep=clock.sleep) == "ready"
    assert clock.sleeps == [0.5, 0.5]


def test_no_answer_by_the_deadline_is_none_and_the_last_sleep_ends_at_the_deadline() -> None:
    clock = FakeClock()
    calls: list[float] = []

    def never() -> bool:
        calls.append(clock.now)
        return False

    assert poll_until(never, 1.0, 0.4, clock=clock, sleep=clock.sleep) is None
    assert clock.sleeps == pytest.approx([0.4, 0.4, 0.2])
    assert calls == pytest.approx([100.0, 100.4, 100.8, 101.0])


def test_a_zero_timeout_still_checks_once() -> None:
    clock = FakeClock()
    assert poll_until(lambda: 0, 0, clock=clock, sleep=clock.sleep) == 0
    assert poll_until(lambda: None, 0, clock=clock, sleep=clock.sleep) is None
    assert clock.sleeps == []


def test_an_exception_from_the_check_ends_the_wait() -> None:
    clock = FakeClock()

    def dead() -> bool:
        raise RuntimeError("process exited")

    with pytest.raises(RuntimeError, match="process exited"):
        poll_until(dead, 10, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []
