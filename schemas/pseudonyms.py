"""Keyed pseudonyms of identities: what the warehouse stores instead of emails and logins.

With ``privacy.pseudonymisation_key`` set, an identity ``(provider, external id)`` of a
pseudonymised provider (every provider but those in ``privacy.plain_providers``) is
stored as::

    "pn1:" + hex(HMAC-SHA256(key, "provider:normalised-id"))

The input is the identity key of schemas/identity.py, so ``Ada@Example.com`` and
``ada@example.com`` have one pseudonym, the same one ``orbitstream identity pseudonym``
prints for someone holding the key. Without the key a pseudonym cannot be computed
from a candidate email (unlike a plain hash), nor turned back into one.

The deterministic canonical id of such an identity (an identity never linked to
another) is then derived from its pseudonym, not from the email: ``uuid5(namespace,
pseudonym)``. Canonical ids stay stable for as long as the key does.

Free text (event payloads, dead-letter errors) is scrubbed too: anything shaped like an
email address becomes the pseudonym of that email.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable

from foundation.settings import PrivacySettings
from schemas.identity import ORBITSTREAM_NAMESPACE, IdentityProvider, deterministic_canonical_id, identity_key

PREFIX = "pn1:"
# Deliberately broad: a false positive costs a pseudonym where none was needed.
EMAIL_IN_TEXT = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def plain_deterministic_id(key: str) -> str:
    """The deterministic canonical id of identity key ``provider:normalised-id`` (no key set)."""
    provider, _, external = key.partition(":")
    return deterministic_canonical_id(provider, external)


def _identity_text(provider: str, external_id: str) -> str:
    """``provider:normalised-id``; an id the rules refuse (or an unknown provider) is hashed
    NFKC-trimmed instead, so refusals of illegal ids carry no raw value either."""
    try:
        return identity_key(provider, external_id)
    except ValueError:  # IllegalIdentityError, or a provider this version does not know
        return f"{provider}:{unicodedata.normalize('NFKC', external_id).strip()}"


class Pseudonymiser:
    """Pseudonyms under one key; identities of ``plain_providers`` pass through unchanged."""

    def __init__(
        self, key: bytes, plain_providers: Iterable[str] = (IdentityProvider.PRODUCT.value,)
    ) -> None:
        if len(key) < 16:
            raise ValueError("pseudonymisation key must be at least 16 bytes")
        self._key = key
        self.plain = frozenset(plain_providers)

    @classmethod
    def from_settings(cls, privacy: PrivacySettings) -> Pseudonymiser | None:
        if privacy.pseudonymisation_key is None:
            return None
        return cls(privacy.pseudonymisation_key.get_secret_value().encode(), privacy.plain_providers)

    def of_key(self, key: str) -> str:
        """The pseudonym of an identity key ``provider:normalised-id``."""
        return PREFIX + hmac.new(self._key, key.encode(), hashlib.sha256).hexdigest()

    def pseudonym(self, provider: str, external_id: str) -> str:
        """The pseudonym of an identity, whatever its provider (``orbitstream identity pseudonym``)."""
        return self.of_key(_identity_text(provider, external_id))

    def identity(self, provider: str, external_id: str) -> str:
        """What the warehouse stores as the external id: a pseudonym, or the id of a plain provider."""
        if not external_id or provider in self.plain or external_id.startswith(PREFIX):
            return external_id
        return self.pseudonym(provider, external_id)

    def text(self, text: str) -> str:
        """``text`` with every email-shaped part replaced by that email's pseudonym."""
        if "@" not in text:
            return text
        return EMAIL_IN_TEXT.sub(lambda m: self.pseudonym(IdentityProvider.EMAIL.value, m.group(0)), text)

    def deterministic_id(self, key: str) -> str:
        """The deterministic canonical id of identity key ``key``: from its pseudonym if its
        provider is pseudonymised, so the id cannot be recomputed from a candidate email."""
        provider = key.partition(":")[0]
        if provider in self.plain:
            return plain_deterministic_id(key)
        return str(uuid.uuid5(ORBITSTREAM_NAMESPACE, self.of_key(key)))


def deterministic_ids(privacy: PrivacySettings) -> Callable[[str], str]:
    """Identity key -> deterministic canonical id, as the settings say (pseudonymised or not)."""
    pseudonymiser = Pseudonymiser.from_settings(privacy)
    return plain_deterministic_id if pseudonymiser is None else pseudonymiser.deterministic_id
