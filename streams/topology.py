"""The topics outside Faust's own (inputs, outputs, the re-keyed join streams).

Faust creates its internal topics and changelogs itself; these are created up front with
the configured partition count, because producers may publish before any worker runs
and a broker-auto-created topic would get the broker's default partition count, which
breaks co-partitioning with the identity table.
"""

from __future__ import annotations

from infra.settings import Settings
from schemas import topics
from streams.identity.agents import COMMUNITY_BY_USER, PRODUCT_BY_USER

PUBLIC_TOPICS = (
    topics.PRODUCT_EVENTS,
    topics.COMMUNITY_EVENTS,
    topics.IDENTITY_LINKS,
    topics.ENGAGEMENT_SCORES,
    topics.CHURN_TRIGGERS,
    topics.RELATIONSHIP_EDGES,
    topics.MENTOR_SUGGESTIONS,
    topics.IDENTITY_REFUSALS,
    topics.DEAD_LETTERS,
    PRODUCT_BY_USER,
    COMMUNITY_BY_USER,
)


def public_topic_names(settings: Settings) -> list[str]:
    return [settings.topics.name(base) for base in PUBLIC_TOPICS]
