"""The producer SDK services use to publish events.

Validate with pydantic before anything is sent, stamp ``sent_at``, key by canonical id
(or the normalised identity), encode with the contract's serde, and hand the event to an
idempotent confluent-kafka producer. Each ``send`` returns a future that resolves with
where the event landed or fails with :class:`DeliveryError`; nothing is dropped silently:
``close`` flushes and raises if anything is still undelivered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from confluent_kafka import KafkaError, Message, Producer
from pydantic import ValidationError

from infra.settings import Settings
from producers.exceptions import DeliveryError, EventValidationError
from schemas.catalog import SchemaCatalog
from schemas.identity import IllegalIdentityError, identity_key
from schemas.models import Event, IdentityLink
from schemas.serde import AvroSerde, serde_from_settings
from schemas.topics import base_topic_for

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class DeliveryReport:
    topic: str
    partition: int
    offset: int
    key: bytes


def message_key(event: Event) -> bytes:
    """Canonical id when the sender knows it, else ``provider:normalised-id``.

    Identity links are always keyed by their first identity: the workers resolve a link
    on the partition that owns that identity.
    """
    if event.canonical_id and not isinstance(event, IdentityLink):
        return event.canonical_id.encode()
    try:
        return identity_key(event.identity.provider, event.identity.external_id).encode()
    except IllegalIdentityError as exc:
        raise EventValidationError(f"field identity.external_id: {exc}") from exc


def producer_config(settings: Settings, client_id: str) -> dict[str, Any]:
    p = settings.producer
    return {
        **settings.kafka.confluent_config(),
        "client.id": client_id,
        # Exactly-once per partition on the producer side: retries never duplicate or reorder.
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": p.linger_ms,
        "compression.type": p.compression,
        "delivery.timeout.ms": p.delivery_timeout_ms,
        "queue.buffering.max.messages": p.queue_max_messages,
        # Kafka's (Java's, aiokafka's) murmur2: keys must land on the partitions the stream
        # workers' tables expect. librdkafka's default is CRC32.
        "partitioner": "murmur2_random",
    }


class EventProducer:
    """``with EventProducer(settings, source="forum") as p: p.send(event).result()``."""

    def __init__(self, settings: Settings, source: str, *, serde: AvroSerde | None = None) -> None:
        self.settings = settings
        self.source = source
        self.serde = serde or serde_from_settings(settings.kafka, SchemaCatalog.load())
        self._producer = Producer(producer_config(settings, source))
        self._closed = threading.Event()
        # Delivery callbacks run from poll(); a background thread polls so send() never
        # has to, and callbacks fire promptly even when the service sends nothing more.
        self._poller = threading.Thread(target=self._poll_loop, name=f"{source}-delivery", daemon=True)
        self._poller.start()

    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.1)

    def topic_for(self, event: Event) -> str:
        return self.settings.topics.name(base_topic_for(type(event)))

    def send(
        self,
        event: Event,
        *,
        on_delivery: Callable[[DeliveryReport | None, DeliveryError | None], None] | None = None,
    ) -> Future[DeliveryReport]:
        """Validate, stamp, encode and enqueue ``event``; the future resolves on delivery."""
        if self._closed.is_set():
            raise DeliveryError(self.topic_for(event), "producer is closed")
        if not isinstance(event, Event):
            raise EventValidationError(f"expected a contract event model, got {type(event).__name__}")
        # Already validated at construction; model_copy skips re-validating on the hot path.
        now = datetime.now(UTC)
        stamped = event.model_copy(
            update={
                "sent_at": now.replace(microsecond=now.microsecond // 1000 * 1000),
                "source": event.source or self.source,
            }
        )
        topic = self.topic_for(stamped)
        key = message_key(stamped)
        value = self.serde.encode(stamped, topic)
        future: Future[DeliveryReport] = Future()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                error = DeliveryError(topic, f"{err.name()}: {err.str()}")
                future.set_exception(error)
                if on_delivery is not None:
                    on_delivery(None, error)
                return
            report = DeliveryReport(topic, msg.partition() or 0, msg.offset() or 0, key)
            future.set_result(report)
            if on_delivery is not None:
                on_delivery(report, None)

        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=delivered)
                return future
            except BufferError:
                # Local queue full: wait for deliveries instead of dropping (backpressure).
                self._producer.poll(0.05)

    def send_dict(self, model: type[E], data: Mapping[str, Any], **kwargs: Any) -> Future[DeliveryReport]:
        """Validate a plain dict as ``model`` first; an invalid one raises naming each field."""
        try:
            event = model.model_validate(data)
        except ValidationError as exc:
            fields = "; ".join(f"field {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise EventValidationError(f"{model.__name__} is invalid: {fields}") from exc
        return self.send(event, **kwargs)

    def flush(self, timeout: float = 30) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        remaining: int = self._producer.flush(timeout)
        return remaining

    def close(self, timeout: float | None = None) -> None:
        """Flush, stop, and raise if any event is still undelivered."""
        if self._closed.is_set():
            return
        wait = timeout if timeout is not None else self.settings.producer.delivery_timeout_ms / 1000 + 5
        remaining = self.flush(wait)
        self._closed.set()
        self._poller.join()
        # Disconnect now: a client left open logs connection failures once the broker stops.
        self._producer.close()
        if remaining:
            raise DeliveryError("*", f"{remaining} events still undelivered after {wait:.0f}s")

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
