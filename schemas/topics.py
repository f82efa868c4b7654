"""Which topic each record goes to (base names; the deployed name adds settings.topics.prefix)."""

from __future__ import annotations

from foundation.names import (
    ACCOUNT_HEALTH,
    CHURN_TRIGGERS,
    COMMUNITY_EVENTS,
    DEAD_LETTERS,
    ENGAGEMENT_SCORES,
    IDENTITY_LINKS,
    IDENTITY_REFUSALS,
    MENTOR_SUGGESTIONS,
    PRODUCT_EVENTS,
    RELATIONSHIP_EDGES,
)
from schemas.models import AvroModel

# The names live in foundation/names.py; imported here too, where records are mapped to them.
__all__ = [
    "PRODUCT_EVENTS",
    "COMMUNITY_EVENTS",
    "IDENTITY_LINKS",
    "ENGAGEMENT_SCORES",
    "CHURN_TRIGGERS",
    "RELATIONSHIP_EDGES",
    "MENTOR_SUGGESTIONS",
    "IDENTITY_REFUSALS",
    "ACCOUNT_HEALTH",
    "DEAD_LETTERS",
    "base_topic_for",
]


_OUTPUTS = {
    "EngagementScoreUpdate": ENGAGEMENT_SCORES,
    "ChurnRiskTrigger": CHURN_TRIGGERS,
    "RelationshipEdge": RELATIONSHIP_EDGES,
    "MentorSuggestion": MENTOR_SUGGESTIONS,
    "AccountHealth": ACCOUNT_HEALTH,
    "IdentityMergeRefused": IDENTITY_REFUSALS,
    "DeadLetter": DEAD_LETTERS,
}
_AREAS = {
    "orbitstream.product": PRODUCT_EVENTS,
    "orbitstream.community": COMMUNITY_EVENTS,
    "orbitstream.identity": IDENTITY_LINKS,
}


def base_topic_for(model: type[AvroModel]) -> str:
    """The base topic a record type is published to."""
    namespace, _, name = model.avro_name.rpartition(".")
    if namespace in _AREAS:
        return _AREAS[namespace]
    if name in _OUTPUTS:
        return _OUTPUTS[name]
    raise KeyError(f"record {model.avro_name} has no topic")
