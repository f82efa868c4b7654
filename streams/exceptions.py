"""Errors the stream workers raise on purpose."""

from __future__ import annotations

from typing import Any

from foundation.exceptions import OrbitstreamError


class StreamError(OrbitstreamError):
    """Base for stream worker errors."""


class FutureEventError(StreamError):
    """An event dated further ahead of the worker's wall clock than the configured tolerance."""


class RecordTooLargeToForward(StreamError):
    """An event too large for the worker to forward to the join (a data problem: dead-lettered)."""


class UnknownSignalKindError(StreamError):
    """A user signal of a kind this worker does not handle (a newer producer, or a bug)."""

    def __init__(self, message: Any, kind: str, known: list[str]) -> None:
        super().__init__(
            f"{message.topic}[{message.partition}]@{message.offset}: "
            f"unknown user signal kind {kind!r} (known: {', '.join(known)})"
        )
        self.kind = kind


class UnexpectedRecordError(StreamError):
    """A well-formed record of a type that does not belong on this topic."""

    def __init__(self, message: Any, got: str, expected: str) -> None:
        super().__init__(
            f"{message.topic}[{message.partition}]@{message.offset}: got record {got}, expected {expected}"
        )
        self.topic = message.topic
        self.partition = message.partition
        self.offset = message.offset


class SkippedRecordsError(StreamError):
    """The consumer handed an agent a record past the next one it was due (records skipped).

    Fatal: the worker stops before the record is acknowledged, so its committed offset
    stays before the skipped records and the restarted worker reads them.
    """

    def __init__(self, topic: str, partition: int, offset: int, expected: int) -> None:
        super().__init__(
            f"{topic}[{partition}]@{offset}: records {expected}..{offset - 1} were never handed to "
            "the agent (the consumer went on past them after a rebalance); stopping so the worker "
            "reads them again from the committed offset. If the broker deleted them (retention), "
            "they are gone: reset the group's offset on this partition to go on."
        )
        self.topic, self.partition, self.offset, self.expected = topic, partition, offset, expected
