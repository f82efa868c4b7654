"""What every agent module needs, built once per app and passed down explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from foundation.settings import Settings
from schemas.pseudonyms import plain_deterministic_id
from schemas.serde import AvroSerde
from streams.health import Health


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StreamContext:
    """Settings, the serde and the worker's health board; no mutable module globals."""

    settings: Settings
    serde: AvroSerde
    health: Health = field(default_factory=Health)
    # Outputs record the wall clock they were emitted at (for latency); tests may pin it.
    clock: Callable[[], datetime] = utc_now
    # Identity key -> deterministic canonical id: keyed when pseudonymising (schemas/pseudonyms.py).
    deterministic_id: Callable[[str], str] = plain_deterministic_id

    def topic_name(self, base: str) -> str:
        return self.settings.topics.name(base)

    @property
    def partitions(self) -> int:
        return self.settings.topics.partitions
