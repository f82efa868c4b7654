"""A bounded memo for the hot path's pure or write-through lookups."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """``compute(key)`` remembered, dropped whole when ``size`` keys are held.

    Dropping everything at once keeps a hit to one dict lookup (no LRU bookkeeping per
    event); the working set refills within a batch or two.
    """

    def __init__(self, compute: Callable[[K], V], size: int = 100_000) -> None:
        self._compute = compute
        self._size = size
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V:
        try:
            return self._values[key]
        except KeyError:
            pass
        if len(self._values) >= self._size:
            self._values.clear()
        value = self._values[key] = self._compute(key)
        return value

    def forget(self, key: K) -> None:
        self._values.pop(key, None)

    def clear(self) -> None:
        self._values.clear()
