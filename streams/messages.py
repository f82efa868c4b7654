"""Records on the workers' internal topics (JSON; not part of the public Avro contract).

Times are epoch milliseconds, as in the Avro contract.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import faust

from streams.exceptions import UnknownSignalKindError


class SignalKind(StrEnum):
    """What a :class:`UserSignal` asks of the user's partition."""

    # Fold a merged id's state into this person's (sent by the merged id's join partition;
    # interactions and the links' markers travel as batch entries, in the join's order).
    MERGE_IN = "merge-in"


def signal_kind(signal: UserSignal, message: Any) -> SignalKind:
    """The signal's kind; one this worker does not know is an error (dead-lettered), never skipped."""
    try:
        return SignalKind(signal.kind)
    except ValueError:
        raise UnknownSignalKindError(message, signal.kind, [k.value for k in SignalKind]) from None


class UserSignal(faust.Record, serializer="json"):
    """Keyed by canonical id: an identity's earlier activity, moving into its person."""

    kind: str  # a SignalKind value (JSON on the wire)
    canonical_id: str | None = None
    occurred_at_ms: int = 0
    # Merges (activity/merge.py): the old id's partition sends its state to the person's
    # id. Stamped with the link event. No state: the old id had no activity to move.
    into: str | None = None
    state: str | None = None  # UserState JSON
    merge_id: str | None = None
    event_id: str | None = None
    sent_at_ms: int | None = None


class Released(faust.Record, abstract=True):
    """Where the join released a mentor record (streams/mentors/ordering.py, outbox.py);
    records without a sender (from a worker before the order existed) are applied as they
    arrive. Every field has a default, so the records' own fields still come first when
    they are built by position."""

    sender: int | None = None  # the join partition
    tag: int | None = None  # the event-time tag the join released its event with
    origin: str | None = None  # the input partition ("topic:partition") its event was read from
    origin_offset: int = -1  # its event's offset there
    index: int = 0  # among the records made from that event
    clock_ms: int | None = None  # the sender's watermark as it sent this record, if known
    idle: bool = False  # the sender had released everything and its inputs were idle


class HelpRequest(Released, serializer="json"):
    """A user hit an API error class: find who recently solved it."""

    canonical_id: str
    error_class: str
    event_id: str
    occurred_at_ms: int
    sent_at_ms: int | None
    team: str | None = None  # the user's work email domain: their teammates are not mentors


class Solution(Released, serializer="json"):
    """An accepted answer on a question tagged with ``error_class``."""

    error_class: str
    solver_canonical_id: str
    solved_at_ms: int
    solver_orbit_level: int = 0  # as of this answer
    solver_team: str | None = None


class MentorClock(faust.Record, serializer="json"):
    """Join partitions' clocks for the mentor matcher (parallel lists, one entry each):
    every help request or solution join partition ``senders[i]`` will still send has a tag
    at or after ``at_ms[i]``; ``idle[i]``: it has released everything and its inputs are idle."""

    senders: list[int]
    at_ms: list[int | None]
    idle: list[bool]


@dataclass(frozen=True, slots=True)
class Marker:
    """An identity link's place in the join's order (batch entries MERGE_OUT / MERGE_EXPECT):
    ``old``'s activity so far moves to ``into`` (activity/merge.py)."""

    old: str
    into: str
    merge_id: str
    event_id: str
    occurred_at_ms: int
    sent_at_ms: int | None

    def to_bytes(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Marker:
        return cls(**json.loads(data))


@dataclass(frozen=True, slots=True)
class Interaction:
    """Someone interacted with the entry's user (batch entry INTERACTION): reach, and a reply
    or answer closes the open question ``ref``."""

    kind: str  # an EdgeKind value
    ref: str | None
    direct: bool
    occurred_at_ms: int

    def to_bytes(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Interaction:
        return cls(**json.loads(data))
