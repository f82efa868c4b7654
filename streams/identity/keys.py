"""Identity keys and the far ends of interactions: what the resolve stage derives per event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.identity import IdentityProvider
from schemas.models import (
    AnswerAccepted,
    EdgeKind,
    Identity,
    Mention,
    ReactionAdded,
    RelationshipEdge,
    ReplyCreated,
)
from streams.identity import resolution


def identity_of(key: str) -> Identity:
    provider, _, external_id = key.partition(":")
    return Identity(provider=IdentityProvider(provider), external_id=external_id)


# Who else an event touches (the far end of a relationship edge): the payload field that
# names them, per record, and the edge kind.
_FAR_ENDS: dict[str, tuple[str, EdgeKind]] = {
    ReplyCreated.avro_name: ("post_author", EdgeKind.REPLY),
    AnswerAccepted.avro_name: ("asker", EdgeKind.ANSWER),
    Mention.avro_name: ("mentioned", EdgeKind.MENTION),
    ReactionAdded.avro_name: ("target_author", EdgeKind.REACTION),
}


@dataclass(frozen=True, slots=True)
class FarEnd:
    """The identity an event touches besides its author, and how."""

    key: str
    kind: EdgeKind
    ref: str  # the post interacted with


def far_end(name: str, record: dict[str, Any]) -> FarEnd | None:
    """The far end of an event (``record`` as fastavro reads it), if it has a legal one:
    an anonymous far end makes no relationship edge."""
    spec = _FAR_ENDS.get(name)
    if spec is None:
        return None
    field, kind = spec
    payload = record["payload"]
    target = payload.get(field)
    if target is None:
        return None
    key, _ = resolution.checked_key(target["provider"], target["external_id"])
    return None if key is None else FarEnd(key, kind, payload["post_id"])


def relationship_edge(
    record: dict[str, Any], far: FarEnd, from_canonical_id: str, to_canonical_id: str, emitted_at: datetime
) -> RelationshipEdge:
    """The edge an event (``record`` as fastavro reads it) makes to its far end."""
    occurred = record["occurred_at"]
    return RelationshipEdge(
        edge_id=f"{record['event_id']}:{far.kind.value}",
        from_canonical_id=from_canonical_id,
        to_canonical_id=to_canonical_id,
        kind=far.kind,
        weight=1.0,
        occurred_at=occurred,
        source_event_id=record["event_id"],
        source_occurred_at=occurred,
        source_sent_at=record.get("sent_at"),
        emitted_at=emitted_at,
    )
