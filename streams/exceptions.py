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
