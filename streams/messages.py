"""Records on the workers' internal topics (JSON; not part of the public Avro contract).

Times are epoch milliseconds, as in the Avro contract.
"""

from __future__ import annotations

import faust


class LinkRequest(faust.Record, serializer="json"):
    """Second hop of a link: sent to the partition that owns ``second_key``."""

    first_key: str
    second_key: str
    first_canonical: str | None
    explicit_canonical: str | None
    event_id: str
    occurred_at_ms: int
    sent_at_ms: int | None


class Assignment(faust.Record, serializer="json"):
    """Third hop: compare-and-set ``key``'s canonical id on the partition that owns it.

    Set only if the entry still holds ``expected``. If another link got there first, the
    ``partner`` identity (linked by this same link moments ago) follows ``key`` instead,
    or, when there is no partner to move, the link is refused as a merge.
    """

    key: str
    canonical_id: str
    expected: str | None
    partner_key: str | None
    other_key: str
    event_id: str
    occurred_at_ms: int
    sent_at_ms: int | None


class InteractionRequest(faust.Record, serializer="json"):
    """An interaction whose target identity still needs resolving (on its own partition)."""

    target_key: str
    from_canonical_id: str
    kind: str
    weight: float
    ref: str | None
    event_id: str
    occurred_at_ms: int
    sent_at_ms: int | None


class UserSignal(faust.Record, serializer="json"):
    """Keyed by canonical id: someone interacted with this user (reach), or a timer tick.

    A tick carries no user: it is sent to one partition and checks every user there for
    absence triggers at the partition's event-time watermark.
    """

    kind: str  # "interaction" | "tick"
    canonical_id: str | None = None
    interaction_kind: str | None = None
    ref: str | None = None  # the post interacted with: a reply can close an open question
    direct: bool = True
    occurred_at_ms: int = 0


class HelpRequest(faust.Record, serializer="json"):
    """A user hit an API error class: find who recently solved it."""

    canonical_id: str
    error_class: str
    event_id: str
    occurred_at_ms: int
    sent_at_ms: int | None


class Solution(faust.Record, serializer="json"):
    """An accepted answer on a question tagged with ``error_class``."""

    error_class: str
    solver_canonical_id: str
    solved_at_ms: int
