"""Identity keys and the far ends of interactions: what the resolve stage derives per event."""

from __future__ import annotations

from schemas.identity import IdentityProvider, identity_key
from schemas.models import (
    AnswerAccepted,
    EdgeKind,
    Event,
    Identity,
    Mention,
    ReactionAdded,
    ReplyCreated,
)
from streams.identity import resolution
from streams.messages import InteractionRequest
from streams.timeconv import to_ms


def key_of(identity: Identity) -> str:
    return identity_key(identity.provider, identity.external_id)


def identity_of(key: str) -> Identity:
    provider, _, external_id = key.partition(":")
    return Identity(provider=IdentityProvider(provider), external_id=external_id)


def interaction_targets(event: Event) -> list[tuple[Identity, EdgeKind, str]]:
    """Who else an event touches (the far end of a relationship edge), how, and on which post."""
    if isinstance(event, ReplyCreated) and event.payload.post_author is not None:
        return [(event.payload.post_author, EdgeKind.REPLY, event.payload.post_id)]
    if isinstance(event, AnswerAccepted) and event.payload.asker is not None:
        return [(event.payload.asker, EdgeKind.ANSWER, event.payload.post_id)]
    if isinstance(event, Mention):
        return [(event.payload.mentioned, EdgeKind.MENTION, event.payload.post_id)]
    if isinstance(event, ReactionAdded) and event.payload.target_author is not None:
        return [(event.payload.target_author, EdgeKind.REACTION, event.payload.post_id)]
    return []


def interaction_requests(event: Event, canonical_id: str, sent_ms: int | None) -> list[tuple[str, bytes]]:
    """(target identity key, InteractionRequest as Faust's JSON) for each far end of ``event``.

    The bytes are what Faust itself would send for the record, so the resolve-interaction
    agent reads them as usual.
    """
    requests: list[tuple[str, bytes]] = []
    for target, kind, post in interaction_targets(event):
        target_key, _ = resolution.checked_key(target.provider, target.external_id)
        if target_key is None:
            continue  # an anonymous far end makes no relationship edge
        request = InteractionRequest(
            target_key=target_key,
            from_canonical_id=canonical_id,
            kind=kind.value,
            weight=1.0,
            ref=post,
            event_id=event.event_id,
            occurred_at_ms=to_ms(event.occurred_at),
            sent_at_ms=sent_ms,
        )
        requests.append((target_key, request.dumps(serializer="json")))
    return requests
