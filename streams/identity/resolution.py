"""Pure rules for linking two identities of one person (no Kafka here).

The identity table maps ``provider:normalised-id`` to a canonical id, and only identities
that have been linked are in it; an identity that is not there resolves to its
deterministic canonical id (UUIDv5 of its key), so an event is never held back waiting
for a link. Merge guard (as PostHog has it): two identities that each already belong to
a person with other identities are never merged silently; the link is refused and the
refusal recorded. A canonical id the sender supplies (on an event or a link) passes the
same illegal-id guard as identities: "null" would merge every sender into one user.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from schemas.identity import ILLEGAL_IDS, IllegalIdentityError, identity_key
from schemas.pseudonyms import plain_deterministic_id

# Identity key -> deterministic canonical id (schemas/pseudonyms.py: keyed when pseudonymising).
DeterministicIds = Callable[[str], str]


class RefusalReason(StrEnum):
    ILLEGAL_ID = "illegal_id"
    BOTH_HAVE_OTHER_IDENTITIES = "both_have_other_identities"
    SAME_IDENTITY = "same_identity"


@dataclass(frozen=True)
class LinkDecision:
    """What to do with a link between identity ``first`` and identity ``second``."""

    canonical_id: str | None
    assign_first: bool = False
    assign_second: bool = False
    refused: RefusalReason | None = None


def decide_link(
    first_key: str,
    first_canonical: str | None,
    second_key: str,
    second_canonical: str | None,
    explicit_canonical: str | None = None,
    deterministic: DeterministicIds = plain_deterministic_id,
) -> LinkDecision:
    """Decide a link given each identity's current table entry (None: never linked).

    - neither linked: both join ``explicit_canonical`` if the sender named one, else the
      first identity's deterministic id (so the first identity's earlier events already
      carry the right id);
    - one linked: the other joins that person;
    - both linked to the same person: nothing to do;
    - both linked to different people: refused (each already has other identities).
    """
    if explicit_canonical is not None and canonical_id_problem(explicit_canonical) is not None:
        return LinkDecision(canonical_id=None, refused=RefusalReason.ILLEGAL_ID)
    if first_key == second_key:
        return LinkDecision(canonical_id=None, refused=RefusalReason.SAME_IDENTITY)
    if first_canonical is None and second_canonical is None:
        target = explicit_canonical or deterministic(first_key)
        return LinkDecision(canonical_id=target, assign_first=True, assign_second=True)
    if first_canonical is not None and second_canonical is None:
        return LinkDecision(canonical_id=first_canonical, assign_second=True)
    if first_canonical is None and second_canonical is not None:
        return LinkDecision(canonical_id=second_canonical, assign_first=True)
    if first_canonical == second_canonical:
        return LinkDecision(canonical_id=first_canonical)
    return LinkDecision(canonical_id=None, refused=RefusalReason.BOTH_HAVE_OTHER_IDENTITIES)


def checked_key(provider: str, external_id: str) -> tuple[str | None, str | None]:
    """``(identity key, None)`` or ``(None, why it is illegal)``."""
    try:
        return identity_key(provider, external_id), None
    except IllegalIdentityError as exc:
        return None, str(exc)


def canonical_id_problem(canonical_id: str) -> str | None:
    """Why a sender-supplied canonical id cannot name a person (None: it can).

    The identity rules' illegal ids ("null", "", "guest", ...) after the same NFKC, trim and
    case folding, plus ids with surrounding whitespace (" c-1" and "c-1" would be two users).
    """
    folded = unicodedata.normalize("NFKC", canonical_id).strip()
    if folded.lower() in ILLEGAL_IDS:
        return f"canonical_id {canonical_id!r} is not a person's id"
    if canonical_id != canonical_id.strip():
        return f"canonical_id {canonical_id!r} has surrounding whitespace"
    return None


def require_legal_canonical_id(canonical_id: str | None) -> None:
    """Raise :class:`IllegalIdentityError` naming the field if an event's canonical id is illegal."""
    if canonical_id is None:
        return
    problem = canonical_id_problem(canonical_id)
    if problem is not None:
        raise IllegalIdentityError(f"field {problem}")


def resolve(key: str, linked: str | None, deterministic: DeterministicIds = plain_deterministic_id) -> str:
    """The canonical id of identity ``key``: its link if any, else its deterministic id."""
    if linked is not None:
        return linked
    return deterministic(key)
