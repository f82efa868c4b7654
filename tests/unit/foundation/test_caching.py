"""The hot path's bounded memo: computed once per key, forgotten on write, dropped when full."""

from __future__ import annotations

from foundation.caching import BoundedCache


def test_a_key_is_computed_once_until_forgotten_or_dropped() -> None:
    calls: list[str] = []

    def compute(key: str) -> str | None:
        calls.append(key)
        return None if key == "unlinked" else key.upper()

    cache = BoundedCache[str, str | None](compute, size=2)
    assert [cache.get("a"), cache.get("a"), cache.get("unlinked"), cache.get("unlinked")] == [
        "A",
        "A",
        None,
        None,
    ]
    assert calls == ["a", "unlinked"]  # a None result is remembered too
    cache.forget("a")
    assert cache.get("a") == "A" and calls == ["a", "unlinked", "a"]
    cache.get("b")  # two keys held: the third drops them all first
    assert calls == ["a", "unlinked", "a", "b"]
    assert cache.get("unlinked") is None and calls[-1] == "unlinked"
