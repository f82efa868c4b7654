"""One explicit error policy for every agent, and the dead-letter topic it feeds.

At-least-once: an event is either processed or dead-lettered before its offset is
committed; nothing is skipped silently. Data problems (undecodable bytes, a record that
fails validation, an identity that cannot be used, a bug triggered by one odd event)
go to the dead-letter topic with the original bytes and where they came from in the
headers, and the agent moves on. Infrastructure problems (Kafka unreachable, out of
memory) are fatal: the agent stops and /health shows it dead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import faust
from aiokafka.errors import KafkaError

from schemas.topics import DEAD_LETTERS
from streams.channels import avro_topic
from streams.context import StreamContext

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[None]]


class Action(Enum):
    DEAD_LETTER = "dead_letter"
    FATAL = "fatal"


def classify(exc: BaseException) -> Action:
    if isinstance(exc, KafkaError | ConnectionError | MemoryError):
        return Action.FATAL
    return Action.DEAD_LETTER


def dead_letter_headers(
    message: Any, exc: BaseException, stage: str, failed_at_ms: int
) -> list[tuple[str, bytes]]:
    """Headers that say why and where from; the value and key stay the original bytes."""
    return [
        ("error", str(exc).encode()[:4096]),
        ("error_class", type(exc).__name__.encode()),
        ("source_topic", str(message.topic).encode()),
        ("source_partition", str(message.partition).encode()),
        ("source_offset", str(message.offset).encode()),
        ("stage", stage.encode()),
        ("failed_at", str(failed_at_ms).encode()),
    ]


class DeadLetters:
    """Sends what an agent could not process to the dead-letter topic."""

    def __init__(self, app: faust.App, ctx: StreamContext) -> None:
        self._ctx = ctx
        self.topic = avro_topic(app, ctx.topic_name(DEAD_LETTERS), partitions=ctx.partitions)

    async def send(self, event: Any, exc: BaseException, stage: str) -> None:
        message = event.message
        failed_at_ms = int(self._ctx.clock().timestamp() * 1000)
        log.warning(
            "dead-lettering %s[%s]@%s in %s: %s", message.topic, message.partition, message.offset, stage, exc
        )
        await self.topic.send(
            key=message.key,
            value=message.value,
            headers=dead_letter_headers(message, exc, stage, failed_at_ms),
            force=True,
        )
        self._ctx.health.agent(stage).dead_lettered += 1
        self._ctx.health.outputs[DEAD_LETTERS] += 1


async def run_guarded(
    name: str,
    stream: Any,
    handle: Handler,
    dead_letters: DeadLetters,
    ctx: StreamContext,
) -> None:
    """Drive ``handle`` over every event of ``stream`` under the error policy.

    Faust acks an event when the loop takes the next one, so an event's offset is only
    committed once it was handled or dead-lettered.
    """
    health = ctx.health.agent(name)
    try:
        async for event in stream.events():
            try:
                await handle(event)
                health.processed += 1
            except Exception as exc:
                if classify(exc) is Action.FATAL:
                    raise
                log.debug("event failed in %s", name, exc_info=True)
                await dead_letters.send(event, exc, name)
    except BaseException as exc:
        ctx.health.died(name, exc)
        raise
