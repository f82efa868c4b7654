"""The hot path's producer: librdkafka (confluent-kafka) instead of Faust's aiokafka producer.

Faust sends each record through aiokafka, which builds batches and produce requests in
Python: measured at about 0.1 ms of worker CPU per record, more than the agents' own work
per event. librdkafka does the same in C for a few microseconds of Python per record.

Delivery is awaited, never assumed: :meth:`FastProducer.flush` returns once every record
produced so far is acknowledged, and raises :class:`DeliveryFailed` otherwise. The worker
flushes before Faust commits any source offset (streams/transport.py) and, where an
output must be durable before state says it was made, before writing that state.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from confluent_kafka import KafkaError, Producer

from streams.exceptions import StreamError

log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]
OnDelivered = Callable[[str, int, int], None]


class DeliveryFailed(StreamError):
    """A record could not be delivered: fatal for the agent, its offsets must not move."""


class FastProducer:
    """One librdkafka producer per worker, shared by every hot-path stage."""

    def __init__(self, config: dict[str, Any], *, flush_timeout_s: float = 30.0) -> None:
        self._producer = Producer(
            {
                **config,
                # Java's (and aiokafka's) key -> partition mapping, so records keyed here land
                # where Faust's own sends and the tables' changelogs put that key.
                "partitioner": "murmur2_random",
                "enable.idempotence": True,
                "acks": "all",
            }
        )
        self._flush_timeout_s = flush_timeout_s
        self._lock = threading.Lock()
        self._errors: list[str] = []
        # Blocking librdkafka calls run here, off the event loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastout")
        self._closed = False

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        *,
        partition: int | None = None,
        headers: Headers | None = None,
        on_delivered: OnDelivered | None = None,
    ) -> None:
        """Queue one record; librdkafka batches it. Delivery is checked by :meth:`flush`.

        ``on_delivered`` (topic, partition, offset) is called on librdkafka's delivery
        thread once the record is acknowledged.
        """
        # No closure per record: a delivery report per record is served in Python, so the
        # callback is a bound method (checking errors) unless the caller needs the offset.
        callback = self._check if on_delivered is None else _Reporting(self, on_delivered)
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": callback}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = list(headers)
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                return
            except BufferError:
                # Local queue full: serve delivery reports until there is room.
                self._producer.poll(0.05)

    def _check(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            with self._lock:
                self._errors.append(f"{msg.topic()}: {err.str()}")

    def _flush_blocking(self) -> None:
        remaining = self._producer.flush(self._flush_timeout_s)
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise DeliveryFailed(f"{len(errors)} record(s) not delivered, first: {errors[0]}")
        if remaining:
            raise DeliveryFailed(f"{remaining} record(s) still undelivered after {self._flush_timeout_s} s")

    async def flush(self) -> None:
        """Wait until everything produced so far is acknowledged by the brokers."""
        if len(self._producer) == 0:
            self._raise_errors()
            return
        if self._closed:  # Faust's last commit comes after shutdown: flush in place
            self._flush_blocking()
            return
        await asyncio.get_running_loop().run_in_executor(self._executor, self._flush_blocking)

    def _raise_errors(self) -> None:
        self._producer.poll(0)
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise DeliveryFailed(f"{len(errors)} record(s) not delivered, first: {errors[0]}")

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=True)
        self._flush_blocking()


class _Reporting:
    """A delivery callback that also hands the record's position to ``on_delivered``."""

    __slots__ = ("_on_delivered", "_producer")

    def __init__(self, producer: FastProducer, on_delivered: OnDelivered) -> None:
        self._producer = producer
        self._on_delivered = on_delivered

    def __call__(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            self._producer._check(err, msg)  # noqa: SLF001 - the producer's own helper
        else:
            self._on_delivered(msg.topic(), msg.partition(), msg.offset())
