"""Which topic each record goes to (base names; the deployed name adds settings.topics.prefix)."""

from __future__ import annotations

from schemas.models import AvroModel

PRODUCT_EVENTS = "product-events"
COMMUNITY_EVENTS = "community-events"
IDENTITY_LINKS = "identity-links"
ENGAGEMENT_SCORES = "engagement-scores"
CHURN_TRIGGERS = "churn-triggers"
RELATIONSHIP_EDGES = "relationship-edges"
MENTOR_SUGGESTIONS = "mentor-suggestions"
IDENTITY_REFUSALS = "identity-refusals"
ACCOUNT_HEALTH = "account-health"
DEAD_LETTERS = "dead-letters"

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
