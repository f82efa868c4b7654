"""The topics created up front: inputs, outputs, and the hops between the agents.

Created with the configured partition count before any worker runs: producers may
publish first, and a broker-auto-created topic would get the broker's default partition
count, which breaks co-partitioning with the identity table. The hops are Faust's to
declare too, but a topic declared while the consumer group forms is missing from the
group's first assignment; aiokafka only notices it at its next metadata refresh (5
minutes by default), and until then nothing reads it. Faust creates the table changelogs.
"""

from __future__ import annotations

from foundation.names import COMMUNITY_BY_USER, PRODUCT_BY_USER
from foundation.settings import Settings
from schemas import topics
from streams.activity.agents import USER_EVENT_BATCHES
from streams.identity.agents import USER_SIGNALS
from streams.mentors.agents import HELP_REQUESTS, SOLUTIONS

PUBLIC_TOPICS = (
    topics.PRODUCT_EVENTS,
    topics.COMMUNITY_EVENTS,
    topics.IDENTITY_LINKS,
    topics.ENGAGEMENT_SCORES,
    topics.CHURN_TRIGGERS,
    topics.RELATIONSHIP_EDGES,
    topics.MENTOR_SUGGESTIONS,
    topics.ACCOUNT_HEALTH,
    topics.IDENTITY_REFUSALS,
    topics.DEAD_LETTERS,
    PRODUCT_BY_USER,
    COMMUNITY_BY_USER,
)

# Between the worker's own stages (Faust-internal record and batch topics).
HOP_TOPICS = (
    USER_EVENT_BATCHES,
    USER_SIGNALS,
    HELP_REQUESTS,
    SOLUTIONS,
)


def worker_topic_names(settings: Settings) -> list[str]:
    """Every topic a worker reads or writes, but the table changelogs."""
    return [settings.topics.name(base) for base in (*PUBLIC_TOPICS, *HOP_TOPICS)]
