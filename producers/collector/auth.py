"""Who may send: per-source API keys (stored as sha256 digests) and webhook signatures.

Every comparison is constant-time (:func:`hmac.compare_digest`), so a response time says
nothing about how much of a key or signature was right.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from pydantic import SecretStr

SIGNATURE_PREFIX = "sha256="


def hash_key(key: str) -> str:
    """The sha256 hex digest configured for an API key (``collector.api_keys``)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Source name -> digest of its key, from the settings."""

    def __init__(self, digests: Mapping[str, str]) -> None:
        self._digests = {source: digest.strip().lower() for source, digest in digests.items()}

    def source_for(self, presented: str | None) -> str | None:
        """The source a presented key belongs to, or None (missing or wrong)."""
        if not presented:
            return None
        digest = hash_key(presented)
        found = None
        # Every digest is compared, so the time taken does not say which source came close.
        for source, expected in self._digests.items():
            if hmac.compare_digest(digest, expected):
                found = source
        return found


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key``."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


def signature_valid(secret: SecretStr, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body>`` under ``secret``.

    GitHub's X-Hub-Signature-256 and Discourse's X-Discourse-Event-Signature share this form.
    """
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX) :].strip().lower())
