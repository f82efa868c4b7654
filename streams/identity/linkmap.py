"""The identity map each resolve stage keeps: every identity link, applied in one order.

Every resolve stage reads every partition of identity-links (linkreader.py) and applies
the links in one order, (tag, partition, offset), where a link's tag is the largest event
time its partition has reached at it, as for events (clocks.py). Applied in the same
order, the same links give the same map in every stage and every run: no hops between
partitions, no compare-and-set, no dependence on which partition was read first.

An entry remembers the tag it was linked at. An event is resolved as of its own tag: to
the person if its identity was linked at or before it, else to the identity's
deterministic id. So which id an event gets depends on the events and links, not on when
the link was read relative to the event. Pure: no Kafka here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from streams.identity.resolution import DeterministicIds, RefusalReason, decide_link


@dataclass(frozen=True, slots=True)
class LinkInput:
    """One identity link as read, or why it could not be read (``error``)."""

    partition: int
    offset: int
    tag: int
    event_id: str = ""
    first_key: str | None = None
    second_key: str | None = None
    explicit_canonical: str | None = None
    occurred_at_ms: int = 0
    sent_at_ms: int | None = None
    record: object = None  # the decoded IdentityLink (for refusal records)
    value: bytes | None = None  # the raw bytes (for a dead letter)
    key: bytes | None = None
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class MergeMarker:
    """Identity ``key`` had no link, so its events so far went to ``old``, its
    deterministic id: from the link's tag on, that activity belongs to ``into``."""

    key: str
    old: str
    into: str
    merge_id: str


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    """What applying one link did: refused it, or linked identities (merges: ids to fold)."""

    link: LinkInput
    refused: RefusalReason | None = None
    first_canonical: str | None = None
    second_canonical: str | None = None
    merges: tuple[MergeMarker, ...] = ()


@dataclass
class LinkMap:
    """Identity key -> (canonical id, the tag it was linked at); linked identities only."""

    deterministic: DeterministicIds
    entries: dict[str, tuple[str, int]] = field(default_factory=dict)
    cache: Callable[[str], str] | None = None  # a cached ``deterministic``, when given

    def canonical(self, key: str) -> str | None:
        entry = self.entries.get(key)
        return None if entry is None else entry[0]

    def is_linked(self, key: str) -> bool:
        return key in self.entries

    def resolve(self, key: str, tag: int) -> str:
        """The canonical id of identity ``key`` for an event tagged ``tag``."""
        entry = self.entries.get(key)
        if entry is not None and entry[1] <= tag:
            return entry[0]
        return (self.cache or self.deterministic)(key)

    def apply(self, link: LinkInput) -> LinkOutcome:
        """Apply one link (the next in the one order): decision rules in resolution.py."""
        first, second = link.first_key, link.second_key
        if first is None or second is None:
            return LinkOutcome(link, refused=RefusalReason.ILLEGAL_ID)
        first_canonical, second_canonical = self.canonical(first), self.canonical(second)
        decision = decide_link(
            first, first_canonical, second, second_canonical, link.explicit_canonical, self.deterministic
        )
        if decision.refused is not None:
            return LinkOutcome(link, decision.refused, first_canonical, second_canonical)
        target = decision.canonical_id
        if target is None:
            return LinkOutcome(link, None, first_canonical, second_canonical)
        merges: list[MergeMarker] = []
        for key, assign in ((first, decision.assign_first), (second, decision.assign_second)):
            if not assign:
                continue
            self.entries[key] = (target, link.tag)
            old = self.deterministic(key)
            if old != target:
                merges.append(MergeMarker(key, old, target, f"{link.event_id}:{old}"))
        return LinkOutcome(link, None, first_canonical, second_canonical, tuple(merges))


def link_order(link: LinkInput) -> tuple[int, int, int]:
    """The one order links are applied in."""
    return (link.tag, link.partition, link.offset)
