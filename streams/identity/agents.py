"""The identity stage's topics (events and links are read by front.py, linkreader.py).

Topics in:  identity-links (every partition, by every resolve stage).
Topics out: product-by-user, community-by-user, identity-refusals, relationship-edges,
            user-signals (merged activity moving to its person: activity/agents.py).

There is no identity table: each resolve stage keeps the whole identity map, rebuilt from
identity-links when it starts (linkmap.py), so a link needs no hops between partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from foundation.names import COMMUNITY_BY_USER, PRODUCT_BY_USER
from schemas.topics import IDENTITY_LINKS, IDENTITY_REFUSALS, RELATIONSHIP_EDGES
from streams.channels import avro_topic, record_topic
from streams.context import StreamContext
from streams.messages import UserSignal

USER_SIGNALS = "user-signals"


@dataclass(frozen=True)
class JoinTopics:
    """The topics between the resolve stage and the join, and the stage's own outputs."""

    product_by_user: Any
    community_by_user: Any
    user_signals: Any
    links: str
    refusals: str
    edges: str


def register(app: faust.App, ctx: StreamContext) -> JoinTopics:
    """Declare the identity stage's topics on ``app``."""
    n = ctx.partitions
    return JoinTopics(
        product_by_user=avro_topic(app, ctx.topic_name(PRODUCT_BY_USER), partitions=n),
        community_by_user=avro_topic(app, ctx.topic_name(COMMUNITY_BY_USER), partitions=n),
        user_signals=record_topic(app, ctx.topic_name(USER_SIGNALS), value_type=UserSignal, partitions=n),
        links=ctx.topic_name(IDENTITY_LINKS),
        refusals=ctx.topic_name(IDENTITY_REFUSALS),
        edges=ctx.topic_name(RELATIONSHIP_EDGES),
    )
