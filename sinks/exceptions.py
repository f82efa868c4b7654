"""Errors the sink raises on purpose."""

from __future__ import annotations

from foundation.exceptions import OrbitstreamError


class SinkError(OrbitstreamError):
    """Base of sink errors."""


class MigrationError(SinkError):
    """A migration failed, is misnamed, or an applied migration file was changed afterwards."""


class UnloadableRecordError(SinkError):
    """A decoded record cannot become a row (wrong type for the sink, value out of range)."""


class SinkBackpressureError(SinkError):
    """The warehouse did not take an insert: the sink keeps the batch, backs off and pauses."""

    def __init__(self, message: str, *, table: str, token: str) -> None:
        super().__init__(message)
        self.table = table
        self.token = token


class ReplayError(SinkError):
    """Dead letters could not be replayed (bad selection, or the producer failed)."""
