"""Every record of a partition reaches the agents, in order, with no hole: where the
consumer's fetch position got past records never handed over, it seeks back.

After a rebalance or a restart Faust (over aiokafka) could hand an agent a partition's
records starting past the group's committed offset, and never the ones in between: Faust's
fetch loop treats them as a gap (committed past as if done) and hands over nothing below
the last offset it delivered. For the join that was lost data: entries never folded, and
once later entries of the same input were folded into a user's state, the skipped ones
read as already applied (11 events' updates lost in one fault run; two identity merges'
markers skipped in another, so two people's later events got no outputs).

So each partition read keeps the offset of its next record due: the group's committed
offset when it is taken on (asked from the broker) or when Faust seeks, then one past the
last record handed over. A record below it is a redelivery (the agents skip what their
state holds) and goes on. A record above it means records were skipped: it and the rest of
that fetch for the partition are held back and the consumer seeks to the offset due. The
first record fetched after that seek is taken as it comes: if it is still above, the log
has nothing readable in between (a transaction marker, or records deleted by retention).

Changelog topics are not checked: they are compacted, holes are their normal state, and
Faust's recovery seeks them itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)


class _Record(Protocol):
    @property
    def offset(self) -> int: ...


TP = TypeVar("TP")
R = TypeVar("R", bound=_Record)


@dataclass(slots=True)
class _Track:
    due: int | None  # offset of the next record due; None: unknown, the next is taken as it comes
    sought: bool  # this consumer sought to ``due``: the next record fetched is the log's own answer


class Continuity:
    """The next offset due per partition, and what to do with each record fetched."""

    def __init__(self) -> None:
        self._tracks: dict[Any, _Track] = {}
        self.seeks = 0  # seeks back made so far (every one a hole found and mended)

    def knows(self, tp: Any) -> bool:
        return tp in self._tracks

    def start(self, tp: Any, committed: int | None) -> None:
        """Taken on: the first record due is at the group's committed offset (None: any)."""
        self._tracks[tp] = _Track(committed, sought=False)

    def moved(self, tp: Any, offset: int | None) -> None:
        """Someone else (Faust) sought the partition to ``offset``: records fetched before
        that may still arrive, so the next record is checked like any other."""
        self._tracks[tp] = _Track(offset, sought=False)

    def check(self, tp: Any, offset: int) -> int | None:
        """Call for each record fetched. None: hand it over. Otherwise an offset: hold it
        and the rest of its fetch back and seek there (``sought`` is then assumed)."""
        track = self._tracks[tp]
        if track.due is None or offset <= track.due or track.sought:
            track.due = offset + 1 if track.due is None else max(track.due, offset + 1)
            track.sought = False
            return None
        track.sought = True
        self.seeks += 1
        return track.due

    def forget(self, tps: Any) -> None:
        """The partitions were revoked: whoever reads them next starts from the commit."""
        for tp in tps:
            self._tracks.pop(tp, None)


async def without_holes(
    records: AsyncIterator[tuple[TP, R]],
    continuity: Continuity,
    checked: Callable[[TP], bool],
    committed: Callable[[TP], Awaitable[int | None]],
    seek: Callable[[TP, int], Awaitable[None]],
) -> AsyncIterator[tuple[TP, R]]:
    """``records`` (one fetch), less any record past a hole and the rest of its partition's
    fetch, with a seek back to the offset due for each such partition."""
    held_back: set[TP] = set()
    async for tp, record in records:
        if tp in held_back:
            continue
        if checked(tp):
            if not continuity.knows(tp):
                continuity.start(tp, await committed(tp))
            back = continuity.check(tp, record.offset)
            if back is not None:
                log.warning(
                    "%s: fetched offset %d but %d is due (records %d..%d skipped): seeking back",
                    tp,
                    record.offset,
                    back,
                    back,
                    record.offset - 1,
                )
                held_back.add(tp)
                await seek(tp, back)
                continue
        yield tp, record
