"""Identity rules shared by producers, stream workers and sinks.

An identity is ``(provider, external id)``. Each is normalised the same way everywhere,
so the deterministic canonical id of an unlinked identity is the same in every process:
``uuid5(ORBITSTREAM_NAMESPACE, "provider:normalised-id")``.

Rules (see docs/identity.md):
- email: NFKC, trimmed, lower-cased (mailbox case is not meaningful in practice);
- github: trimmed, lower-cased (logins are case-insensitive);
- sso, oauth2: trimmed, case kept ("issuer|subject" style subjects are case-sensitive);
- product: trimmed, case kept (the product's own user id);
- discourse: trimmed, lower-cased (Discourse usernames are case-insensitive);
- discord: trimmed, case kept (a Discord user id, a numeric snowflake).
Ids that clients send when they know nobody ("null", "guest", "anonymous", ...) are
illegal: linking them would merge every anonymous visitor into one person.
"""

from __future__ import annotations

import unicodedata
import uuid
from enum import StrEnum

from foundation.exceptions import OrbitstreamError

ORBITSTREAM_NAMESPACE = uuid.UUID("5b0f6c1e-9d3a-4f4b-8f57-2f1f0c7a9e10")


class IdentityProvider(StrEnum):
    EMAIL = "email"
    GITHUB = "github"
    SSO = "sso"
    OAUTH2 = "oauth2"
    PRODUCT = "product"
    DISCOURSE = "discourse"
    DISCORD = "discord"


# After normalisation and lower-casing; PostHog refuses the same family of ids.
ILLEGAL_IDS = frozenset(
    {
        "",
        "null",
        "none",
        "nil",
        "undefined",
        "nan",
        "0",
        "-1",
        "true",
        "false",
        "guest",
        "anonymous",
        "anon",
        "unknown",
        "id",
        "email",
        "user",
        "distinct_id",
        "distinctid",
        "not_authenticated",
        "[object object]",
    }
)

_CASE_INSENSITIVE = {IdentityProvider.EMAIL, IdentityProvider.GITHUB, IdentityProvider.DISCOURSE}


class IllegalIdentityError(OrbitstreamError, ValueError):
    """An identity that must never be linked or used as a person's key."""


def normalise(provider: IdentityProvider | str, external_id: str) -> str:
    """Return the normalised external id, or raise :class:`IllegalIdentityError`."""
    prov = IdentityProvider(provider)
    value = unicodedata.normalize("NFKC", external_id).strip()
    if prov in _CASE_INSENSITIVE:
        value = value.lower()
    if value.lower() in ILLEGAL_IDS:
        raise IllegalIdentityError(f"{prov.value} id {external_id!r} is not a person's identity")
    if prov is IdentityProvider.EMAIL and value.count("@") != 1:
        raise IllegalIdentityError(f"email id {external_id!r} is not an address")
    return value


def identity_key(provider: IdentityProvider | str, external_id: str) -> str:
    """The stable string form ``provider:normalised-id`` used as a Kafka key and table key."""
    return f"{IdentityProvider(provider).value}:{normalise(provider, external_id)}"


def deterministic_canonical_id(provider: IdentityProvider | str, external_id: str) -> str:
    """The canonical id an identity gets before (or without) any link: UUIDv5 of its key."""
    return str(uuid.uuid5(ORBITSTREAM_NAMESPACE, identity_key(provider, external_id)))
