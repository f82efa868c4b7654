"""Poll until a condition holds or a deadline passes: the one loop every wait in the project uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    check: Callable[[], T | None],
    timeout: float,
    interval: float = 0.1,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T | None:
    """Call ``check`` every ``interval`` s until it returns a value that is not None or False;
    return that value, or None once ``timeout`` s have passed.

    ``check`` is called at least once, even with a timeout of 0. An exception from it ends
    the wait (a process that died while it was awaited, a refusal that will not change).
    """
    deadline = clock() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if clock() >= deadline:
            return None
        sleep(min(interval, max(deadline - clock(), 0.0)))
