"""Errors the sink raises on purpose."""

from __future__ import annotations

from infra.exceptions import OrbitstreamError


class SinkError(OrbitstreamError):
    """Base of sink errors."""


class MigrationError(SinkError):
    """A migration failed, or an applied migration file was changed afterwards."""


class SinkBackpressureError(SinkError):
    """The warehouse is not taking inserts: consumption pauses until it does."""
