"""Errors the analyses raise on purpose."""

from __future__ import annotations

from foundation.exceptions import OrbitstreamError


class AnalysisError(OrbitstreamError):
    """An analysis was asked for with inputs it cannot use (unknown name, empty window)."""
