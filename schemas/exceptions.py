"""Errors of the contract layer: every one names what was wrong and where."""

from __future__ import annotations

from foundation.exceptions import OrbitstreamError


class SchemaError(OrbitstreamError):
    """A schema could not be loaded, or two schemas are incompatible."""


class SerializationError(OrbitstreamError):
    """A record could not be encoded (names the record and, where known, the field)."""


class DeserializationError(OrbitstreamError):
    """Bytes read from Kafka are not a record of the contract."""

    def __init__(self, reason: str, *, topic: str, partition: int = -1, offset: int = -1) -> None:
        super().__init__(f"{topic}[{partition}]@{offset}: {reason}")
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
