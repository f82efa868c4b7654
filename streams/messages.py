"""Records on the workers' internal topics (JSON; not part of the public Avro contract).

Times are epoch milliseconds, as in the Avro contract.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import faust

from streams.exceptions import UnknownSignalKindError


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


class SignalKind(StrEnum):
    """What a :class:`UserSignal` asks of the user's partition."""

    INTERACTION = "interaction"  # someone interacted with this user (reach)
    MERGE_OUT = "merge-out"  # send this id's state to the person it was merged into
    MERGE_IN = "merge-in"  # fold a merged id's state into this person's


def signal_kind(signal: UserSignal, message: Any) -> SignalKind:
    """The signal's kind; one this worker does not know is an error (dead-lettered), never skipped."""
    try:
        return SignalKind(signal.kind)
    except ValueError:
        raise UnknownSignalKindError(message, signal.kind, [k.value for k in SignalKind]) from None


class UserSignal(faust.Record, serializer="json"):
    """Keyed by canonical id: someone interacted with this user (reach), or a merge of an
    identity's earlier activity into its person."""

    kind: str  # a SignalKind value (JSON on the wire)
    canonical_id: str | None = None
    interaction_kind: str | None = None
    ref: str | None = None  # the post interacted with: a reply can close an open question
    direct: bool = True
    occurred_at_ms: int = 0
    # Merges (activity/merge.py): "merge-out" goes to the old id's partition, which sends
    # its state ("merge-in") to the person's id ``into``. Stamped with the link event.
    into: str | None = None
    state: str | None = None  # UserState JSON
    merge_id: str | None = None
    event_id: str | None = None
    sent_at_ms: int | None = None


class HelpRequest(faust.Record, serializer="json"):
    """A user hit an API error class: find who recently solved it."""

    canonical_id: str
    error_class: str
    event_id: str
    occurred_at_ms: int
    sent_at_ms: int | None
    team: str | None = None  # the user's work email domain: their teammates are not mentors
    # Where the join released it (streams/mentors/ordering.py); records without a sender
    # (from a worker before the order existed) are applied as they arrive.
    sender: int | None = None  # the join partition
    tag: int | None = None  # the event-time tag the join released its event with
    origin: str | None = None  # the input partition ("topic:partition") its event was read from
    origin_offset: int = -1  # its event's offset there
    index: int = 0  # among the records made from that event
    clock_ms: int | None = None  # the sender's watermark as it sent this record, if known
    idle: bool = False  # the sender had released everything and its inputs were idle


class Solution(faust.Record, serializer="json"):
    """An accepted answer on a question tagged with ``error_class``."""

    error_class: str
    solver_canonical_id: str
    solved_at_ms: int
    solver_orbit_level: int = 0  # as of this answer
    solver_team: str | None = None
    # Where the join released it (streams/mentors/ordering.py); records without a sender
    # (from a worker before the order existed) are applied as they arrive.
    sender: int | None = None  # the join partition
    tag: int | None = None  # the event-time tag the join released its event with
    origin: str | None = None  # the input partition ("topic:partition") its event was read from
    origin_offset: int = -1  # its event's offset there
    index: int = 0  # among the records made from that event
    clock_ms: int | None = None  # the sender's watermark as it sent this record, if known
    idle: bool = False  # the sender had released everything and its inputs were idle


class MentorClock(faust.Record, serializer="json"):
    """Join partitions' clocks for the mentor matcher (parallel lists, one entry each):
    every help request or solution join partition ``senders[i]`` will still send has a tag
    at or after ``at_ms[i]``; ``idle[i]``: it has released everything and its inputs are idle."""

    senders: list[int]
    at_ms: list[int | None]
    idle: list[bool]
