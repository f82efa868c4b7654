"""Identity links and the far ends of interactions (events are resolved in front.py).

Topics in:  identity-links (keyed by identity key), interactions-by-identity.
Topics out: identity-refusals, relationship-edges, user-signals (reach, merges).
Internal:   identity-link-requests, identity-assignments.

The ``identities`` table maps identity key -> canonical id and is co-partitioned with the
input topics, so an event is resolved on the partition that owns its identity. A link
touches two identities that may live on two partitions, so it travels in hops: the first
identity's partition reads its entry and forwards a request to the second identity's
partition, which decides (merge guards in resolution.py), sets its own entry and sends
the first identity a compare-and-set assignment. A linked entry never changes except by
that fix-up, so concurrent links of one person converge instead of overwriting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from foundation.names import COMMUNITY_BY_USER, PRODUCT_BY_USER
from schemas.models import (
    EdgeKind,
    Identity,
    IdentityLink,
    IdentityMergeRefused,
    RelationshipEdge,
)
from schemas.topics import (
    IDENTITY_LINKS,
    IDENTITY_REFUSALS,
    RELATIONSHIP_EDGES,
)
from streams.channels import avro_topic, record_topic
from streams.context import StreamContext
from streams.errors import DeadLetters, run_guarded
from streams.exceptions import UnexpectedRecordError
from streams.identity import resolution
from streams.identity.keys import identity_of
from streams.messages import Assignment, InteractionRequest, LinkRequest, SignalKind, UserSignal
from streams.tables import ReadCachedTable
from streams.timeconv import from_ms, from_ms_or_none, to_ms

USER_SIGNALS = "user-signals"
LINK_REQUESTS = "identity-link-requests"
ASSIGNMENTS = "identity-assignments"
INTERACTIONS_BY_IDENTITY = "interactions-by-identity"
IDENTITY_TABLE = "identities"


@dataclass(frozen=True)
class JoinTopics:
    """The topics the activity agent reads: every one keyed by canonical id."""

    product_by_user: Any
    community_by_user: Any
    user_signals: Any
    # For the batch resolve stage (front.py), which reads the event topics itself.
    identities: Any
    links: Any
    interactions: Any


def refusal_record(
    *,
    event_id: str,
    first: Identity,
    second: Identity,
    reason: str,
    first_canonical: str | None,
    second_canonical: str | None,
    occurred_at_ms: int,
    sent_at_ms: int | None,
    emitted_at: Any,
) -> IdentityMergeRefused:
    occurred = from_ms(occurred_at_ms)
    return IdentityMergeRefused(
        refusal_id=event_id,
        identity=first,
        linked_identity=second,
        reason=reason,
        canonical_id=first_canonical,
        linked_canonical_id=second_canonical,
        occurred_at=occurred,
        source_event_id=event_id,
        source_occurred_at=occurred,
        source_sent_at=from_ms_or_none(sent_at_ms),
        emitted_at=emitted_at,
    )


def register(app: faust.App, ctx: StreamContext, dead_letters: DeadLetters) -> JoinTopics:
    """Declare the identity topics, table and agents on ``app``."""
    n = ctx.partitions

    def avro(base: str) -> Any:
        return avro_topic(app, ctx.topic_name(base), partitions=n)

    def internal(base: str, value_type: type[faust.Record]) -> Any:
        return record_topic(app, ctx.topic_name(base), value_type=value_type, partitions=n)

    links_in = avro(IDENTITY_LINKS)
    product_out = avro(PRODUCT_BY_USER)
    community_out = avro(COMMUNITY_BY_USER)
    refusals_out = avro(IDENTITY_REFUSALS)
    edges_out = avro(RELATIONSHIP_EDGES)

    link_requests = internal(LINK_REQUESTS, LinkRequest)
    assignments = internal(ASSIGNMENTS, Assignment)
    interactions = internal(INTERACTIONS_BY_IDENTITY, InteractionRequest)
    user_signals = internal(USER_SIGNALS, UserSignal)
    # Read-cached: the batch resolve stage (front.py) looks up every event's identity.
    identities: Any = app.tables.add(
        ReadCachedTable(app, name=IDENTITY_TABLE, default=None, partitions=n, key_type=str, value_type=str)
    )
    serde = ctx.serde

    def decode(event: Any) -> Any:
        m = event.message
        return serde.decode(m.value, topic=m.topic, partition=m.partition, offset=m.offset)

    async def send_avro(topic: Any, key: str, record: Any) -> None:
        name = topic.get_topic_name()
        await topic.send(key=key.encode(), value=serde.encode(record, name), force=True)
        ctx.health.outputs[name] += 1

    async def rerouted(event: Any, topic: Any, key: str) -> bool:
        """Move a message keyed by something else onto the partition that owns ``key``."""
        m = event.message
        if m.key == key.encode():
            return False
        await topic.send(key=key.encode(), value=m.value, headers=m.headers, force=True)
        return True

    async def move_activity(
        key: str, canonical_id: str, event_id: str, at_ms: int, sent_ms: int | None
    ) -> None:
        """Identity ``key`` had no link, so its events so far went to its deterministic id:
        now that it belongs to ``canonical_id``, that activity moves too (activity/merge.py)."""
        old = resolution.resolve(key, None, ctx.deterministic_id)
        if old == canonical_id:
            return
        signal = UserSignal(
            kind=SignalKind.MERGE_OUT,
            canonical_id=old,
            into=canonical_id,
            merge_id=f"{event_id}:{old}",
            event_id=event_id,
            occurred_at_ms=at_ms,
            sent_at_ms=sent_ms,
        )
        await user_signals.send(key=old, value=signal, force=True)

    async def handle_link(event: Any) -> None:
        link = decode(event)
        if not isinstance(link, IdentityLink):
            raise UnexpectedRecordError(event.message, type(link).__name__, "IdentityLink")
        first, why_first = resolution.checked_key(link.identity.provider, link.identity.external_id)
        second, why_second = resolution.checked_key(
            link.linked_identity.provider, link.linked_identity.external_id
        )
        if first is None or second is None:
            refusal = refusal_record(
                event_id=link.event_id,
                first=link.identity,
                second=link.linked_identity,
                reason=resolution.RefusalReason.ILLEGAL_ID.value,
                first_canonical=None,
                second_canonical=None,
                occurred_at_ms=to_ms(link.occurred_at),
                sent_at_ms=to_ms(link.sent_at) if link.sent_at else None,
                emitted_at=ctx.clock(),
            )
            await send_avro(refusals_out, first or second or link.event_id, refusal)
            return
        if await rerouted(event, links_in, first):
            return
        request = LinkRequest(
            first_key=first,
            second_key=second,
            first_canonical=identities.get(first),
            explicit_canonical=link.canonical_id,
            event_id=link.event_id,
            occurred_at_ms=to_ms(link.occurred_at),
            sent_at_ms=to_ms(link.sent_at) if link.sent_at else None,
        )
        await link_requests.send(key=second, value=request, force=True)

    async def handle_link_request(event: Any) -> None:
        req: LinkRequest = event.value
        second_canonical = identities.get(req.second_key)
        decision = resolution.decide_link(
            req.first_key,
            req.first_canonical,
            req.second_key,
            second_canonical,
            req.explicit_canonical,
            ctx.deterministic_id,
        )
        if decision.refused is not None:
            refusal = refusal_record(
                event_id=req.event_id,
                first=identity_of(req.first_key),
                second=identity_of(req.second_key),
                reason=decision.refused.value,
                first_canonical=req.first_canonical,
                second_canonical=second_canonical,
                occurred_at_ms=req.occurred_at_ms,
                sent_at_ms=req.sent_at_ms,
                emitted_at=ctx.clock(),
            )
            await send_avro(refusals_out, req.first_key, refusal)
            return
        if decision.canonical_id is None:
            return
        if decision.assign_second:
            identities[req.second_key] = decision.canonical_id
            if second_canonical is None:
                await move_activity(
                    req.second_key, decision.canonical_id, req.event_id, req.occurred_at_ms, req.sent_at_ms
                )
        if decision.assign_first:
            assignment = Assignment(
                key=req.first_key,
                canonical_id=decision.canonical_id,
                expected=req.first_canonical,
                partner_key=req.second_key if decision.assign_second else None,
                other_key=req.second_key,
                event_id=req.event_id,
                occurred_at_ms=req.occurred_at_ms,
                sent_at_ms=req.sent_at_ms,
            )
            await assignments.send(key=req.first_key, value=assignment, force=True)

    async def handle_assignment(event: Any) -> None:
        a: Assignment = event.value
        current = identities.get(a.key)
        if current == a.expected:
            identities[a.key] = a.canonical_id
            if a.expected is None:
                await move_activity(a.key, a.canonical_id, a.event_id, a.occurred_at_ms, a.sent_at_ms)
            return
        if current == a.canonical_id:
            return
        # Another link reached this identity first: it now belongs to ``current``.
        if a.partner_key is not None:
            # The partner was linked by this same link a moment ago: it follows.
            follow = Assignment(
                key=a.partner_key,
                canonical_id=current,
                expected=a.canonical_id,
                partner_key=None,
                other_key=a.key,
                event_id=a.event_id,
                occurred_at_ms=a.occurred_at_ms,
                sent_at_ms=a.sent_at_ms,
            )
            await assignments.send(key=a.partner_key, value=follow, force=True)
            return
        refusal = refusal_record(
            event_id=a.event_id,
            first=identity_of(a.key),
            second=identity_of(a.other_key),
            reason=resolution.RefusalReason.BOTH_HAVE_OTHER_IDENTITIES.value,
            first_canonical=current,
            second_canonical=a.canonical_id,
            occurred_at_ms=a.occurred_at_ms,
            sent_at_ms=a.sent_at_ms,
            emitted_at=ctx.clock(),
        )
        await send_avro(refusals_out, a.key, refusal)

    async def handle_interaction(event: Any) -> None:
        req: InteractionRequest = event.value
        target = resolution.resolve(req.target_key, identities.get(req.target_key), ctx.deterministic_id)
        if target == req.from_canonical_id:
            return  # talking to oneself is not a relationship
        occurred = from_ms(req.occurred_at_ms)
        edge = RelationshipEdge(
            edge_id=f"{req.event_id}:{req.kind}",
            from_canonical_id=req.from_canonical_id,
            to_canonical_id=target,
            kind=EdgeKind(req.kind),
            weight=req.weight,
            occurred_at=occurred,
            source_event_id=req.event_id,
            source_occurred_at=occurred,
            source_sent_at=from_ms_or_none(req.sent_at_ms),
            emitted_at=ctx.clock(),
        )
        await send_avro(edges_out, req.from_canonical_id, edge)
        signal = UserSignal(
            kind=SignalKind.INTERACTION,
            canonical_id=target,
            interaction_kind=req.kind,
            ref=req.ref,
            direct=req.kind != EdgeKind.REACTION.value,
            occurred_at_ms=req.occurred_at_ms,
        )
        await user_signals.send(key=target, value=signal, force=True)

    def agent(name: str, topic: Any, handle: Any) -> None:
        async def run(stream: Any) -> None:
            await run_guarded(name, stream, handle, dead_letters, ctx)

        app.agent(topic, name=name, concurrency=1)(run)

    agent("identity-link", links_in, handle_link)
    agent("identity-link-request", link_requests, handle_link_request)
    agent("identity-assignment", assignments, handle_assignment)
    agent("resolve-interaction", interactions, handle_interaction)
    return JoinTopics(
        product_by_user=product_out,
        community_by_user=community_out,
        user_signals=user_signals,
        identities=identities,
        links=links_in,
        interactions=interactions,
    )
