"""Faust's aiokafka transport with the consumer's fetch wait under our control, source
offsets committed only after the hot path's own producer has delivered, and never past a
record whose entries are still waiting in an ordered stage (the join, the mentor matcher).

faust-streaming's aiokafka driver hard-codes ``fetch_max_wait_ms=1500``. aiokafka keeps
one fetch in flight per broker and leaves out of it the partitions whose records are still
being processed; once those are consumed they wait for the in-flight fetch to return,
which on a quiet stream is the full wait. Measured on one worker at 100 events/s: p95
543 ms, p99 1,022 ms send -> score with 1,500 ms; see docs/streams.md for the figures
with the wait we set. A short wait costs only empty fetches while idle.

aiokafka's ``seek_to_committed`` seeks only to committed offsets above 0, so a partition
whose committed offset is 0 kept whatever position its prefetch had reached: records Faust
fetched and dropped during a rebalance's recovery were never read again. With the join's
commit cap a committed 0 is common early on (a record at offset 0 still waiting), and any
agent could lose every record of such a partition (found with a restart test of mentor
matching). ``seek_to_committed`` here seeks to 0 too.

Records reach the agents with no hole (continuity.py): where the fetch position got past
records Faust never handed over, the consumer seeks back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Set
from typing import Any, cast

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, Message

from streams.continuity import Continuity, without_holes
from streams.fastout import FastProducer

CommitCap = Callable[[str, int], int | None]


async def seek_to_committed(consumer: AIOKafkaConsumer) -> Mapping[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset, 0 included (see above)."""
    committed: Mapping[TopicPartition, int | None] = await consumer.seek_to_committed()
    for tp, offset in committed.items():
        if offset == 0:
            consumer.seek(tp, 0)
    return committed


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Any:
        return await self.call_thread(seek_to_committed, self._ensure_consumer())

    async def committed_offset(self, tp: TP) -> int | None:
        """The group's committed offset of ``tp``, asked from the broker."""
        offset: int | None = await self.call_thread(
            self._ensure_consumer().committed, TopicPartition(tp.topic, tp.partition)
        )
        return offset

    async def seek_back(self, tp: TP, offset: int) -> None:
        """Seek from the consumer's own thread (aiokafka is not thread-safe)."""
        await self.call_thread(self._seek_now, tp, offset)

    async def _seek_now(self, tp: TP, offset: int) -> None:
        self._ensure_consumer().seek(TopicPartition(tp.topic, tp.partition), offset)

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher, which comes later.
        app = cast("WorkerApp", self.app)
        consumer._fetch_max_wait_ms = app.fetch_max_wait_ms  # noqa: SLF001
        consumer._fetch_min_bytes = app.fetch_min_bytes  # noqa: SLF001
        return consumer


class _Consumer(driver.Consumer):
    _thread: _ConsumerThread

    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    @property
    def continuity(self) -> Continuity:
        """The offsets due per partition (continuity.py); one per consumer, made on first use."""
        found: Continuity | None = self.__dict__.get("_continuity")
        if found is None:
            found = self.__dict__["_continuity"] = Continuity()
        return found

    def _checked(self, tp: TP) -> bool:
        return not self._is_changelog_tp(tp)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        fetched = super().getmany(timeout)
        async for tp, message in without_holes(
            fetched, self.continuity, self._checked, self._thread.committed_offset, self._thread.seek_back
        ):
            yield tp, message

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await super().seek_to_committed()
        for tp, offset in committed.items():
            if self._checked(tp):
                self.continuity.moved(tp, offset)
        return committed

    async def _seek(self, partition: TP, offset: int) -> None:
        await super()._seek(partition, offset)
        if self._checked(partition):
            self.continuity.moved(partition, offset)

    async def on_partitions_revoked(self, revoked: Set[TP]) -> None:
        self.continuity.forget(revoked)
        await super().on_partitions_revoked(revoked)

    async def _commit(self, offsets: Any) -> bool:
        # Faust flushes its own producer before committing; outputs and changelog records
        # sent through librdkafka (streams/fastout.py) must be acknowledged first too, or a
        # crash after the commit would lose what the committed events produced.
        app = cast("WorkerApp", self.app)
        if app.fast_producer is not None:
            await app.fast_producer.flush()
        if app.commit_caps:
            # A record acked by its stream may still hold entries an ordered stage has not
            # applied (the join's events, the mentor matcher's records: they wait for other
            # partitions, streams/ordering.py): the commit stops at it, so after a crash it
            # is read again. Held records are not kept unacked: Faust waits for every
            # unacked record before it lets a rebalance go on.
            offsets = {
                tp: offset if (held := app.commit_cap(tp.topic, tp.partition)) is None else min(offset, held)
                for tp, offset in offsets.items()
            }
        result: bool = await super()._commit(offsets)
        return result


class _Transport(driver.Transport):
    Consumer = _Consumer


class WorkerApp(faust.App):
    """A Faust app whose Kafka consumer fetches with ``fetch_max_wait_ms``, commits after
    ``fast_producer`` (when set) has delivered everything sent so far, and never past the
    least offset any of its ``commit_caps`` holds."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, fetch_min_bytes: int = 1, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.fetch_min_bytes = fetch_min_bytes
        self.fast_producer: FastProducer | None = None
        # Each: (topic, partition) -> the least offset not to commit past, or None. One per
        # stage that holds records back (the join, the mentor matcher).
        self.commit_caps: list[CommitCap] = []
        super().__init__(*args, **kwargs)

    def add_commit_cap(self, cap: CommitCap) -> None:
        self.commit_caps.append(cap)

    def commit_cap(self, topic: str, partition: int) -> int | None:
        """The least offset of ``topic``/``partition`` some stage still holds, or None."""
        held = [h for cap in self.commit_caps if (h := cap(topic, partition)) is not None]
        return min(held) if held else None

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
