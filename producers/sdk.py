"""The producer SDK services use to publish events.

Validate with pydantic before anything is sent, stamp ``sent_at``, key by canonical id
(or the normalised identity), encode with the contract's serde, and hand the event to an
idempotent confluent-kafka producer. Each ``send`` returns a future that resolves with
where the event landed or fails with :class:`DeliveryError`; ``send_batch`` prepares a
whole list first (a bad event refuses the batch, nothing sent) and returns one future for
all of it. Nothing is dropped silently: ``close`` flushes and raises if anything is still
undelivered.

Validation happens once, when the model is built (or in ``send_dict``). Sending does not
revisit the model: its data comes out of pydantic's core in one ``model_dump`` (enums,
nested records and times as fastavro writes them), ``sent_at`` and ``source`` are set in
that dict, and fastavro encodes it as Avro single-object encoding with the catalog's
writer schema. With a schema registry the serde's Confluent serializer is used instead.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from fastavro import schemaless_writer
from pydantic import ValidationError

from foundation.kafka_access import KafkaAuthenticationError, authentication_failed, is_authentication_error
from foundation.settings import KAFKA_CLIENT_LOGGER, Settings
from producers.exceptions import DeliveryError, EventValidationError
from schemas.catalog import SchemaCatalog
from schemas.exceptions import SerializationError
from schemas.identity import IllegalIdentityError, identity_key
from schemas.models import Event, IdentityLink
from schemas.serde import SINGLE_OBJECT_MAGIC, AvroSerde, serde_from_settings
from schemas.topics import IDENTITY_LINKS, base_topic_for

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


KEY_CACHE = 100_000


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Prepared:
    """An event ready to produce: where it goes, its key and its encoded value."""

    topic: str
    key: bytes
    value: bytes


class _BatchDelivery:
    """One future for a batch: every report in order, or the first delivery error."""

    def __init__(self, size: int, error_for: Callable[[str, KafkaError], DeliveryError]) -> None:
        self._error_for = error_for
        self.future: Future[list[DeliveryReport]] = Future()
        self._reports: list[DeliveryReport | None] = [None] * size
        self._left = size
        self._error: DeliveryError | None = None
        self._lock = threading.Lock()
        if size == 0:
            self.future.set_result([])

    def callback(self, n: int, item: Prepared) -> Callable[[KafkaError | None, Message], None]:
        def delivered(err: KafkaError | None, msg: Message) -> None:
            with self._lock:
                if err is not None:
                    self._error = self._error or self._error_for(item.topic, err)
                else:
                    self._reports[n] = DeliveryReport(
                        item.topic, msg.partition() or 0, msg.offset() or 0, item.key
                    )
                self._left -= 1
                if self._left:
                    return
            if self._error is not None:
                self.future.set_exception(self._error)
            else:
                self.future.set_result([r for r in self._reports if r is not None])

        return delivered


class EventProducer:
    """``with EventProducer(settings, source="forum") as p: p.send(event).result()``."""

    def __init__(
        self,
        settings: Settings,
        source: str,
        *,
        serde: AvroSerde | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.settings = settings
        self.source = source
        self.serde = serde or serde_from_settings(settings.kafka, SchemaCatalog.load())
        self._clock = clock
        self._topics: dict[type[Event], str] = {}
        # Normalised identity keys: a service sends many events per identity.
        self._keys: dict[tuple[str, str, bool], bytes] = {}
        # Set once a broker refuses the credentials: queued events fail with it, new ones too.
        self._refused: KafkaAuthenticationError | None = None
        self._producer = Producer({**producer_config(settings, source), "error_cb": self._on_client_error})
        self._closed = threading.Event()
        # Identity links still in flight: an event sent after a link waits until the link is
        # written, so the workers resolve it with the link (docs/identity.md). Kafka orders
        # nothing across partitions: sent at once, the event could be written first.
        self._links_topic = settings.topics.name(IDENTITY_LINKS)
        self._links_in_flight = 0
        self._links_done = threading.Condition()
        # Delivery callbacks run from poll(); a background thread polls so send() never
        # has to, and callbacks fire promptly even when the service sends nothing more.
        self._poller = threading.Thread(target=self._poll_loop, name=f"{source}-delivery", daemon=True)
        self._poller.start()

    def _on_client_error(self, error: KafkaError) -> None:
        # librdkafka keeps retrying a refused login until each message's delivery timeout;
        # the SDK fails them now instead, with the reason (kafka_access.py).
        if is_authentication_error(error):
            if self._refused is None:
                self._refused = authentication_failed(self.settings.kafka, error.str())
            return
        # With an error callback librdkafka no longer logs errors itself: log them as it would.
        logging.getLogger(KAFKA_CLIENT_LOGGER).error("%s: %s", error.name(), error.str())

    def _poll_loop(self) -> None:
        purged = False
        while not self._closed.is_set():
            self._producer.poll(0.1)
            if self._refused is not None and not purged:
                purged = True
                self._producer.purge(in_queue=True, in_flight=True, blocking=False)

    def _delivery_error(self, topic: str, err: KafkaError) -> DeliveryError:
        if self._refused is not None:
            return DeliveryError(topic, str(self._refused))
        return DeliveryError(topic, f"{err.name()}: {err.str()}")

    def _check_open(self, topic: str) -> None:
        if self._refused is not None:
            raise DeliveryError(topic, str(self._refused))
        if self._closed.is_set():
            raise DeliveryError(topic, "producer is closed")

    def topic_for(self, event: Event) -> str:
        kind = type(event)
        topic = self._topics.get(kind)
        if topic is None:
            topic = self._topics[kind] = self.settings.topics.name(base_topic_for(kind))
        return topic

    def prepare(self, event: Event) -> Prepared:
        """Stamp, key and encode ``event`` (nothing is sent); a bad event raises naming the field."""
        if not isinstance(event, Event):
            raise EventValidationError(f"expected a contract event model, got {type(event).__name__}")
        topic = self.topic_for(event)
        key = self._key(event)
        now = self._clock()
        sent_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self.serde.registry is not None:
            stamped = event.model_copy(update={"sent_at": sent_at, "source": event.source or self.source})
            return Prepared(topic, key, self.serde.encode(stamped, topic))
        # Validated when built: one dump from pydantic's core, no second pass over the model.
        data = event.model_dump()
        data["sent_at"] = sent_at
        data["source"] = data["source"] or self.source
        try:
            entry = self.serde.catalog.schema(event.avro_name)
            buf = io.BytesIO()
            buf.write(SINGLE_OBJECT_MAGIC)
            buf.write(entry.fingerprint)
            schemaless_writer(buf, entry.parsed, data)
        except Exception as exc:
            raise SerializationError(f"cannot encode {event.avro_name} for topic {topic}: {exc}") from exc
        return Prepared(topic, key, buf.getvalue())

    def _key(self, event: Event) -> bytes:
        """:func:`message_key`, remembered per identity (at most KEY_CACHE of them)."""
        if event.canonical_id and not isinstance(event, IdentityLink):
            return event.canonical_id.encode()
        identity = event.identity
        cache_key = (identity.provider.value, identity.external_id, isinstance(event, IdentityLink))
        key = self._keys.get(cache_key)
        if key is None:
            if len(self._keys) >= KEY_CACHE:
                self._keys.clear()
            key = self._keys[cache_key] = message_key(event)
        return key

    def send(
        self,
        event: Event,
        *,
        on_delivery: Callable[[DeliveryReport | None, DeliveryError | None], None] | None = None,
    ) -> Future[DeliveryReport]:
        """Validate, stamp, encode and enqueue ``event``; the future resolves on delivery."""
        self._check_open(self.topic_for(event))
        prepared = self.prepare(event)
        topic, key = prepared.topic, prepared.key
        future: Future[DeliveryReport] = Future()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                error = self._delivery_error(topic, err)
                future.set_exception(error)
                if on_delivery is not None:
                    on_delivery(None, error)
                return
            report = DeliveryReport(topic, msg.partition() or 0, msg.offset() or 0, key)
            future.set_result(report)
            if on_delivery is not None:
                on_delivery(report, None)

        self._produce(prepared, delivered)
        return future

    def send_batch(self, events: Sequence[Event]) -> Future[list[DeliveryReport]]:
        """Send ``events`` in order; the future resolves with every report, or fails with the first error.

        Every event is prepared before any is sent: one invalid event raises
        :class:`EventValidationError` naming its position and field, and nothing is sent.
        """
        self._check_open("*")
        prepared: list[Prepared] = []
        for n, event in enumerate(events):
            try:
                prepared.append(self.prepare(event))
            except EventValidationError as exc:
                raise EventValidationError(f"event {n} of the batch: {exc}") from exc
        return self.send_prepared(prepared)

    def send_prepared(self, prepared: Sequence[Prepared]) -> Future[list[DeliveryReport]]:
        """Send events already :meth:`prepare`-d (a caller that sorts out bad events one by one)."""
        if self._closed.is_set():
            raise DeliveryError("*", "producer is closed")
        batch = _BatchDelivery(len(prepared), self._delivery_error)
        for n, item in enumerate(prepared):
            self._produce(item, batch.callback(n, item))
        return batch.future

    def reachable(self, timeout: float = 1.0) -> bool:
        """Whether the cluster answers a metadata request within ``timeout`` seconds."""
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException:
            return False
        return True

    def _produce(self, item: Prepared, delivered: Callable[[KafkaError | None, Message], None]) -> None:
        if item.topic == self._links_topic:
            delivered = self._link_delivery(delivered)
        elif self._links_in_flight and threading.current_thread() is not self._poller:
            self._await_links()
        while True:
            try:
                self._producer.produce(item.topic, value=item.value, key=item.key, on_delivery=delivered)
                return
            except BufferError:
                # Local queue full: wait for deliveries instead of dropping (backpressure).
                self._producer.poll(0.05)

    def _link_delivery(
        self, delivered: Callable[[KafkaError | None, Message], None]
    ) -> Callable[[KafkaError | None, Message], None]:
        with self._links_done:
            self._links_in_flight += 1

        def link_delivered(err: KafkaError | None, msg: Message) -> None:
            try:
                delivered(err, msg)
            finally:
                with self._links_done:
                    self._links_in_flight -= 1
                    self._links_done.notify_all()

        return link_delivered

    def _await_links(self) -> None:
        """Until every link sent so far is written or failed (its delivery timeout bounds it)."""
        with self._links_done:
            while self._links_in_flight and not self._closed.is_set() and self._refused is None:
                self._links_done.wait(0.1)

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
        if self._refused is not None or remaining:
            # Fail what is still queued or in flight (their futures get the purge error;
            # flush serves their callbacks): librdkafka would otherwise hold close() up to
            # the delivery timeout, long past the ``timeout`` asked for.
            self._producer.purge(in_queue=True, in_flight=True, blocking=False)
            self._producer.flush(5)
        self._closed.set()
        self._poller.join()
        # Disconnect now: a client left open logs connection failures once the broker stops.
        self._producer.close()
        if self._refused is not None:
            raise DeliveryError("*", str(self._refused))
        if remaining:
            raise DeliveryError("*", f"{remaining} events still undelivered after {wait:.0f}s")

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
