"""Errors services see from the producer SDK."""

from __future__ import annotations

from foundation.exceptions import OrbitstreamError


class ProducerError(OrbitstreamError):
    """Base of producer SDK errors."""


class EventValidationError(ProducerError):
    """The event is not valid for its schema; nothing was sent. Names every bad field."""


class DeliveryError(ProducerError):
    """Kafka did not take the event (after bounded retries)."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"delivery to topic {topic} failed: {reason}")
        self.topic = topic
        self.reason = reason
