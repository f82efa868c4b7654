"""Identity keys and the far ends of interactions: what the resolve stage derives per event."""

from __future__ import annotations

from typing import Any

from schemas.identity import IdentityProvider
from schemas.models import (
    AnswerAccepted,
    EdgeKind,
    Identity,
    Mention,
    ReactionAdded,
    ReplyCreated,
)
from streams.identity import resolution
from streams.messages import InteractionRequest
from streams.timeconv import to_ms


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


def interaction_requests(name: str, record: dict[str, Any], canonical_id: str) -> list[tuple[str, bytes]]:
    """(target identity key, InteractionRequest as Faust's JSON) for the far end of an event.

    ``record`` is the event as fastavro reads it. The bytes are what Faust itself would send
    for the record, so the resolve-interaction agent reads them as usual.
    """
    far_end = _FAR_ENDS.get(name)
    if far_end is None:
        return []
    field, kind = far_end
    payload = record["payload"]
    target = payload.get(field)
    if target is None:
        return []
    requests: list[tuple[str, bytes]] = []
    target_key, _ = resolution.checked_key(target["provider"], target["external_id"])
    if target_key is not None:  # an anonymous far end makes no relationship edge
        sent_at = record.get("sent_at")
        request = InteractionRequest(
            target_key=target_key,
            from_canonical_id=canonical_id,
            kind=kind.value,
            weight=1.0,
            ref=payload["post_id"],
            event_id=record["event_id"],
            occurred_at_ms=to_ms(record["occurred_at"]),
            sent_at_ms=to_ms(sent_at) if sent_at is not None else None,
        )
        requests.append((target_key, request.dumps(serializer="json")))
    return requests
