"""The mentor matcher's input order: the join's event-time order, whatever the arrival order.

Every join partition sends help requests and solutions of every error class, so one
mentor partition hears from all of them, on two topics. Applied in arrival order, whether
a solution is in a class's index when a help request is judged would depend on which
join partition's record arrived first. Here records wait until no join partition can
still send an earlier one, the way the join waits for its inputs (streams/ordering.py):

- A *channel* is one join partition's records on one topic (Kafka orders each channel,
  not the two topics against each other). Each record carries the tag the join released
  its event with; along a channel tags grow, since the join releases in tag order, except
  for a person waiting for an identity merge, whose entries are folded when it arrives.
- Each channel's clock: a record's own tag, the join partition's watermark it carries
  (every event before it has been released), and clock-only reports (``MentorClock``)
  when the join partition sends nothing for a while. A join partition that has released
  everything it read and whose inputs are all idle reports itself idle and holds no one back.
- A record leaves in the order (tag, kind, join partition, arrival): at one tag, every
  solution before every help request (an answer at the same event time counts for the
  failure), then by join partition; within one channel, the order the join released them.

A record is applied once (matching.py): each class's index keeps, per user and input
partition, the place of the last record applied (its event's offset there, its index among
that event's records). The join folds one user's events of one input partition in offset
order and each once (activity/join.py), so a record at or before that place is a copy: one
re-sent by a join partition that restarted from its last commit, or read again by a
matcher that restarted from its own. Across users a join partition's records of one input
do not come in offset order (a person waiting for an identity merge has their entries
folded when it arrives, after other users' later ones), so the place is kept per user.

What can still depend on timing: a join partition reported idle that later releases an
event tagged earlier than records already applied (the join's own idle residual, docs/
streams.md), and a waiting person's records (the join partition's watermark waits for
them, but its other records' tags say it has passed them): applied late, not lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from streams.batches import SourceClock
from streams.messages import HelpRequest, MentorClock, Solution
from streams.ordering import EventTimeMerge

T = TypeVar("T")
Kind = Literal["solutions", "help-requests"]
SOLUTIONS_KIND: Kind = "solutions"
HELP_KIND: Kind = "help-requests"


def channel(kind: Kind, sender: int) -> str:
    """One join partition's records of one kind, e.g. "solutions<-join:2"."""
    return f"{kind}<-join:{sender}"


def user_of(record: HelpRequest | Solution) -> str:
    """Whose event made the record: the requester's, or the solver's."""
    return record.solver_canonical_id if isinstance(record, Solution) else record.canonical_id


def channels(partitions: int) -> list[str]:
    """Every channel into one mentor partition, ranked: solutions before help requests."""
    return [channel(kind, p) for kind in (SOLUTIONS_KIND, HELP_KIND) for p in range(partitions)]


@dataclass(frozen=True, slots=True)
class Position:
    """Where one record comes from: its channel, its user and its event's place in the input."""

    channel: str
    user: str  # the requester of a help request, the solver of a solution
    origin: str  # the input partition ("topic:partition") the event was read from
    offset: int
    index: int  # among the records made from that event

    @property
    def mark(self) -> tuple[int, int]:
        return (self.offset, self.index)


class MentorMerge(Generic[T]):
    """One mentor partition's waiting records, released in the join's event-time order."""

    def __init__(self, partitions: int) -> None:
        self._merge = EventTimeMerge[tuple[Position, T]](channels(partitions))
        # Arrival order: the order within a channel (EventTimeMerge's offset never repeats).
        self._arrived = 0

    def __len__(self) -> int:
        return len(self._merge)

    def add(self, position: Position, tag: int, item: T) -> None:
        """Buffer one record (copies too: the table recognises them when they are applied)."""
        self._arrived += 1
        self._merge.add(position.channel, tag, self._arrived, (position, item))

    def report(self, channel_name: str, clock: SourceClock) -> None:
        """A channel's clock (never moves back; an unknown channel is ignored)."""
        self._merge.report({channel_name: clock})

    def offer(self, kind: Kind, record: HelpRequest | Solution, item: T) -> bool:
        """Take a record read from ``kind``'s topic: buffered (True), or False when it carries
        no order (from a sender without it: the caller applies it at once)."""
        if record.sender is None or record.tag is None or record.origin is None:
            return False
        position = Position(
            channel(kind, record.sender), user_of(record), record.origin, record.origin_offset, record.index
        )
        self.add(position, record.tag, item)
        # The record says its sender has reached its tag, or the watermark it carries.
        at_ms = record.tag if record.clock_ms is None else max(record.clock_ms, record.tag)
        self.report(position.channel, SourceClock(at_ms, record.idle))
        return True

    def offer_clock(self, kind: Kind, report: MentorClock) -> None:
        """Take a clock-only report read from ``kind``'s topic."""
        if not len(report.senders) == len(report.at_ms) == len(report.idle):
            raise ValueError(
                f"clock report with {len(report.senders)} senders, {len(report.at_ms)} "
                f"clocks and {len(report.idle)} idle flags: the lists must pair up"
            )
        for sender, at_ms, idle in zip(report.senders, report.at_ms, report.idle, strict=True):
            self.report(channel(kind, sender), SourceClock(at_ms, idle))

    def release(self) -> Iterator[tuple[Position, T]]:
        """The records no channel can still precede, in order."""
        for _tag, item in self._merge.release():
            yield item
