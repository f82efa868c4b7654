"""A Faust table whose changelog records go out through the worker's librdkafka producer.

Everything else is Faust's: the store (RocksDB or memory), recovery from the changelog,
standbys, rebalancing. Only the send differs. Faust's own changelog send is one aiokafka
record built in Python per ``table[key] = value`` (about 0.1 ms of worker CPU each, the
largest single cost per event after the fetch); librdkafka takes it for a few
microseconds. The bytes are the ones Faust would write (same serializers, same
partition), so Faust recovers the table from them unchanged, and delivery still records
the changelog offset in the store, as Faust's own callback does, so a restart recovers
only what is newer.

Every write to such a table must go through this path: two producers writing one
changelog partition could reorder a key's records.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.types import TP

from streams.fastout import FastProducer


class FastChangelogTable(faust.Table):
    """``faust.Table`` with changelog records produced by :class:`FastProducer`."""

    def __init__(self, *args: Any, fast_producer: FastProducer, **kwargs: Any) -> None:
        self._fast_producer = fast_producer
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__(*args, **kwargs)

    def _send_fast(self, key: Any, value: Any, value_serializer: Any) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        partition = self.partition_for_key(key)
        topic = self.changelog_topic
        key_bytes, _ = topic.prepare_key(key, self.key_serializer)
        value_bytes, _ = topic.prepare_value(value, value_serializer) if value is not None else (None, None)
        self._fast_producer.produce(
            topic.get_topic_name(), value_bytes, key_bytes, partition=partition, on_delivered=self._delivered
        )

    def _delivered(self, topic_name: str, partition: int, offset: int) -> None:
        # Called on librdkafka's delivery thread; the store is the event loop's.
        loop = self._loop
        assert loop is not None  # set by the write that produced this record
        loop.call_soon_threadsafe(self.data.set_persisted_offset, TP(topic_name, partition), offset)

    def on_key_set(self, key: Any, value: Any) -> None:
        self._send_fast(key, value, self.value_serializer)

    def on_key_del(self, key: Any) -> None:
        self._send_fast(key, None, "raw")
