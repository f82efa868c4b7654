"""One explicit error policy for every agent, and the dead-letter topic it feeds.

At-least-once: an event is either processed or dead-lettered before its offset is
committed; nothing is skipped silently. Data problems (undecodable bytes, a record that
fails validation, an identity that cannot be used, a record too large to forward, a bug
triggered by one odd event) go to the dead-letter topic with the original bytes (a
bounded prefix of them for oversized ones) and where they came from in the headers, and
the agent moves on. Infrastructure problems (Kafka unreachable, a dead letter that cannot
be delivered, out of memory) are fatal: the worker process exits at once with
``FATAL_EXIT_CODE``, before the failed message's offset can be committed, so a supervisor
restarts it and the message is read again. Never a half-alive worker that keeps
consuming past a message it lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import faust
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from confluent_kafka import KafkaError as ClientError
from confluent_kafka import KafkaException, Message
from faust.exceptions import ProducerSendError

from foundation.names import DeadLetterHeader
from schemas.topics import DEAD_LETTERS
from streams.channels import avro_topic
from streams.context import StreamContext
from streams.fastout import DeliveryFailed

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[None]]
Halt = Callable[[str, BaseException], None]

# EX_TEMPFAIL (sysexits.h): a temporary failure; the supervisor should start the worker again.
FATAL_EXIT_CODE = 75
# Of the bytes a dead letter may carry, at most this share goes to a (truncated) key.
_KEY_SHARE = 4


class Action(Enum):
    DEAD_LETTER = "dead_letter"
    FATAL = "fatal"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its explicit causes (faust wraps send errors ``from`` Kafka's)."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__


def classify(exc: BaseException) -> Action:
    chain = list(_chain(exc))
    # A record too large to produce can never be sent, however often it is retried: that
    # is a property of this message (a data problem), not of the infrastructure.
    if any(isinstance(e, MessageSizeTooLargeError | RecordTooLargeError) for e in chain):
        return Action.DEAD_LETTER
    fatal = KafkaError | ProducerSendError | DeliveryFailed | ConnectionError | MemoryError
    if any(isinstance(e, fatal) for e in chain):
        return Action.FATAL
    return Action.DEAD_LETTER


def dead_letter_headers(
    message: Any, exc: BaseException, stage: str, failed_at_ms: int
) -> list[tuple[str, bytes]]:
    """Headers that say why and where from; the value and key stay the original bytes."""
    return [
        (DeadLetterHeader.ERROR, str(exc).encode()[:4096]),
        (DeadLetterHeader.ERROR_CLASS, type(exc).__name__.encode()),
        (DeadLetterHeader.SOURCE_TOPIC, str(message.topic).encode()),
        (DeadLetterHeader.SOURCE_PARTITION, str(message.partition).encode()),
        (DeadLetterHeader.SOURCE_OFFSET, str(message.offset).encode()),
        (DeadLetterHeader.STAGE, stage.encode()),
        (DeadLetterHeader.FAILED_AT, str(failed_at_ms).encode()),
    ]


@dataclass(frozen=True)
class Source:
    """A record that failed outside a Faust event (the batch stages): where it was, its bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None


@dataclass(frozen=True)
class DeadLetter:
    """What goes to the dead-letter topic for one failed message."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @property
    def size(self) -> int:
        return len(self.key or b"") + len(self.value or b"")


def build_dead_letter(
    message: Any, exc: BaseException, stage: str, failed_at_ms: int, max_bytes: int
) -> DeadLetter:
    """The dead letter of ``message``: its original key and value, or, when together they
    exceed ``max_bytes``, a prefix of each within that bound plus their sizes and SHA-256
    (headers ``original_key_size``, ``original_key_sha256``, ``original_value_size``,
    ``original_value_sha256``, ``truncated: true``; the ``error`` header says so too). A
    dead letter as large as an oversized message would fail to send for the same reason.

    A message with neither key nor value (a keyless tombstone) gets an empty value and the
    header ``null_value: true``: Faust refuses to send a record with neither.
    """
    key: bytes | None = message.key
    value: bytes | None = message.value
    headers = dead_letter_headers(message, exc, stage, failed_at_ms)
    if key is None and value is None:
        return DeadLetter(None, b"", [*headers, (DeadLetterHeader.NULL_VALUE, b"true")])
    if len(key or b"") + len(value or b"") <= max_bytes:
        return DeadLetter(key, value, headers)
    key_kept = None if key is None else key[: max_bytes // _KEY_SHARE]
    value_kept = None if value is None else value[: max_bytes - len(key_kept or b"")]
    facts: list[tuple[str, bytes]] = [(DeadLetterHeader.TRUNCATED, b"true")]
    for name, original in (("key", key), ("value", value)):
        if original is not None:
            facts.append((DeadLetterHeader.original_size(name), str(len(original)).encode()))
            facts.append(
                (DeadLetterHeader.original_sha256(name), hashlib.sha256(original).hexdigest().encode())
            )
    note = (
        f"{exc}; dead letter truncated to its first {len(value_kept or b'')} of "
        f"{len(value or b'')} value bytes (sha256 {hashlib.sha256(value or b'').hexdigest()})"
    )
    headers = [
        (DeadLetterHeader.ERROR, note.encode()[-4096:]) if h[0] == DeadLetterHeader.ERROR else h
        for h in headers
    ]
    return DeadLetter(key_kept, value_kept, headers + facts)


def halt_worker(name: str, exc: BaseException) -> None:
    """Exit the process now, before any further await: the event loop must not run on, or
    Faust would ack the failed message and commit past it (Stream acks in a ``finally``)."""
    log.critical(
        "agent %s cannot go on (%s: %s); stopping the worker with exit code %d so it restarts "
        "from the last committed offset",
        name,
        type(exc).__name__,
        exc,
        FATAL_EXIT_CODE,
    )
    logging.shutdown()
    os._exit(FATAL_EXIT_CODE)


class DeadLetters:
    """Sends what an agent could not process to the dead-letter topic."""

    def __init__(self, app: faust.App, ctx: StreamContext) -> None:
        self._ctx = ctx
        self.max_bytes = ctx.settings.worker.dead_letter_max_bytes
        self.topic = avro_topic(app, ctx.topic_name(DEAD_LETTERS), partitions=ctx.partitions)

    async def send(self, event: Any, exc: BaseException, stage: str) -> None:
        """Send and wait until the broker has it: only then may the agent move on."""
        message = event.message
        failed_at_ms = int(self._ctx.clock().timestamp() * 1000)
        log.warning(
            "dead-lettering %s[%s]@%s in %s: %s", message.topic, message.partition, message.offset, stage, exc
        )
        letter = build_dead_letter(message, exc, stage, failed_at_ms, self.max_bytes)
        delivery = await self.topic.send(
            key=letter.key, value=letter.value, headers=letter.headers, force=True
        )
        await delivery  # delivered, not only queued: then the offset may move on
        self._ctx.health.dead_lettered(stage, exc, self.topic.get_topic_name())


async def run_guarded(
    name: str,
    stream: Any,
    handle: Handler,
    dead_letters: DeadLetters,
    ctx: StreamContext,
    *,
    halt: Halt = halt_worker,
) -> None:
    """Drive ``handle`` over every event of ``stream`` under the error policy.

    Faust acks an event when the loop takes the next one, so an event's offset is only
    committed once it was handled or dead-lettered. A fatal error (including a dead letter
    that could not be delivered) halts the worker while the event is still unacked.
    """
    health = ctx.health.agent(name)
    inputs = ctx.health.inputs
    try:
        async for event in stream.events():
            inputs[event.message.topic] += 1
            try:
                await handle(event)
                health.processed += 1
            except Exception as exc:
                if classify(exc) is Action.FATAL:
                    raise
                log.debug("event failed in %s", name, exc_info=True)
                await dead_letters.send(event, exc, name)
    except Exception as exc:
        ctx.health.died(name, exc)
        halt(name, exc)
        raise
    except BaseException as exc:  # cancelled: the worker is stopping anyway
        ctx.health.died(name, exc)
        raise


def is_record(msg: Message) -> bool:
    """Whether a consumed message is a record: the end of a partition is not (False); any
    other error a consumer hands back is fatal (raised)."""
    err = msg.error()
    if err is None:
        return True
    if err.code() == ClientError._PARTITION_EOF:  # noqa: SLF001
        return False
    raise KafkaException(err)
