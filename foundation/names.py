"""Names several packages share: topics, dead-letter headers. Defined once, imported by all.

Topic names are base names; the deployed name adds ``settings.topics.prefix``.
"""

from __future__ import annotations

from typing import Final

# Public topics: the contract with producers, the sink and other consumers.
PRODUCT_EVENTS: Final = "product-events"
COMMUNITY_EVENTS: Final = "community-events"
IDENTITY_LINKS: Final = "identity-links"
ENGAGEMENT_SCORES: Final = "engagement-scores"
CHURN_TRIGGERS: Final = "churn-triggers"
RELATIONSHIP_EDGES: Final = "relationship-edges"
MENTOR_SUGGESTIONS: Final = "mentor-suggestions"
IDENTITY_REFUSALS: Final = "identity-refusals"
ACCOUNT_HEALTH: Final = "account-health"
DEAD_LETTERS: Final = "dead-letters"
# Resolved events, keyed by canonical user id: written by the stream workers' identity
# stage, read by their activity join and by the sink (table ``events``).
PRODUCT_BY_USER: Final = "product-by-user"
COMMUNITY_BY_USER: Final = "community-by-user"
RESOLVED_EVENTS: Final = (PRODUCT_BY_USER, COMMUNITY_BY_USER)


class DeadLetterHeader:
    """Kafka header names of a dead letter: written by the stream workers, read by the sink."""

    ERROR: Final = "error"
    ERROR_CLASS: Final = "error_class"
    SOURCE_TOPIC: Final = "source_topic"
    SOURCE_PARTITION: Final = "source_partition"
    SOURCE_OFFSET: Final = "source_offset"
    STAGE: Final = "stage"
    FAILED_AT: Final = "failed_at"
    NULL_VALUE: Final = "null_value"
    TRUNCATED: Final = "truncated"
    # A dead letter replayed to its source topic (sinks/replay.py) carries these.
    REPLAY_OF: Final = "orbitstream-replay-of"
    REPLAYED_AT: Final = "replayed_at"

    @staticmethod
    def original_size(part: str) -> str:
        """``original_key_size`` / ``original_value_size`` of a truncated dead letter."""
        return f"original_{part}_size"

    @staticmethod
    def original_sha256(part: str) -> str:
        return f"original_{part}_sha256"
