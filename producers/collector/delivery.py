"""Events to Kafka through the producer SDK, answered only once Kafka acknowledged them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from foundation.settings import Settings
from producers.exceptions import DeliveryError, EventValidationError, ProducerError
from producers.sdk import EventProducer, Prepared
from schemas.exceptions import SerializationError
from schemas.models import Event

log = logging.getLogger("orbitstream.collector")


class KafkaUnavailable(ProducerError):
    """Kafka did not acknowledge within the collector's bound: answer 503, accept nothing."""


@dataclass(frozen=True)
class Unsendable:
    """An event that validated but cannot be keyed or encoded (an illegal identity, say)."""

    position: int
    field: str | None
    reason: str


def collector_settings_for_producer(settings: Settings) -> Settings:
    """The SDK's settings with the collector's bound as librdkafka's delivery timeout.

    librdkafka then gives up on a record when the request does, so a 503 is not followed by
    a delivery nobody waits for (a retried batch is deduplicated by event_id regardless).
    """
    bound_ms = max(1000, int(settings.collector.delivery_timeout_s * 1000))
    producer = settings.producer.model_copy(update={"delivery_timeout_ms": bound_ms})
    return settings.model_copy(update={"producer": producer})


class Delivery:
    """One idempotent producer per collector process, shared by every request."""

    def __init__(self, settings: Settings, source: str = "collector") -> None:
        self.timeout_s = settings.collector.delivery_timeout_s
        self.producer = EventProducer(collector_settings_for_producer(settings), source=source)

    def prepare(self, events: Sequence[tuple[int, Event]]) -> tuple[list[Prepared], list[Unsendable]]:
        """Key and encode each event; those that cannot be are reported, not sent."""
        ready: list[Prepared] = []
        refused: list[Unsendable] = []
        for position, event in events:
            try:
                ready.append(self.producer.prepare(event))
            except EventValidationError as exc:
                text = str(exc)
                name = text.removeprefix("field ").split(":", 1)[0] if text.startswith("field ") else None
                refused.append(Unsendable(position, name, text))
            except SerializationError as exc:
                refused.append(Unsendable(position, None, str(exc)))
        return ready, refused

    async def send(self, prepared: Sequence[Prepared]) -> None:
        """Return once Kafka acknowledged every one; :class:`KafkaUnavailable` past the bound."""
        if not prepared:
            return
        try:
            future = self.producer.send_prepared(prepared)
            # Shielded: a timeout must not cancel the SDK's future, whose delivery callback
            # still runs later in the producer's polling thread.
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout=self.timeout_s + 1)
        except (DeliveryError, TimeoutError) as exc:
            raise KafkaUnavailable(str(exc) or "no acknowledgement within the bound") from exc

    async def ready(self) -> bool:
        return await asyncio.to_thread(self.producer.reachable, 1.0)

    def close(self) -> None:
        """Flush what is in flight; what Kafka never took was answered 503, so it is only logged."""
        try:
            self.producer.close(timeout=self.timeout_s)
        except DeliveryError as exc:
            log.warning("collector producer closed with undelivered events: %s", exc)
