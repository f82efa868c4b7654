"""The worker's Kafka consumer fetches with the configured wait, not the driver's 1500 ms."""

from __future__ import annotations

import asyncio

from foundation.settings import load_settings
from streams.app import create_app


def test_worker_consumer_uses_the_configured_fetch_wait() -> None:
    async def build() -> int:
        app = create_app(load_settings(worker={"consumer_fetch_max_wait_ms": 7, "store": "memory://"}))
        thread = app.consumer._new_consumer_thread()
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()  # never started: only releases the client

    assert asyncio.run(build()) == 7


def test_commit_caps_compose_to_the_least_offset_any_stage_holds() -> None:
    async def build() -> list[int | None]:
        app = create_app(load_settings(worker={"store": "memory://"}))
        # The app already holds the join's and the mentor matcher's caps: add two more.
        app.add_commit_cap(lambda topic, p: 40 if (topic, p) == ("t", 0) else None)
        app.add_commit_cap(lambda topic, p: 25 if topic == "t" else None)
        return [app.commit_cap("t", 0), app.commit_cap("t", 1), app.commit_cap("other", 0)]

    assert asyncio.run(build()) == [25, 25, None]


def test_the_worker_consumer_holds_back_a_fetch_past_the_commit_and_seeks_back(monkeypatch) -> None:
    """The hookup of streams/continuity.py: what Faust's fetch loop iterates is the
    consumer's ``getmany``, so a stale fetch never reaches the agents."""
    from faust.transport.drivers import aiokafka as driver
    from faust.types import TP

    tp = TP("user-event-batches", 0)

    class Msg:
        def __init__(self, offset: int) -> None:
            self.offset = offset

    async def stale_fetch(self, timeout: float):  # what Faust's own getmany handed over
        for offset in (9, 10, 11):
            yield tp, Msg(offset)

    monkeypatch.setattr(driver.Consumer, "getmany", stale_fetch)

    async def run() -> tuple[list[int], list[tuple[TP, int]]]:
        app = create_app(load_settings(worker={"store": "memory://"}))
        consumer = app.consumer
        sought: list[tuple[TP, int]] = []

        async def committed(at: TP) -> int:
            return 5

        async def seek_back(at: TP, offset: int) -> None:
            sought.append((at, offset))

        monkeypatch.setattr(consumer._thread, "committed_offset", committed)
        monkeypatch.setattr(consumer._thread, "seek_back", seek_back)
        handed = [m.offset async for _tp, m in consumer.getmany(1.0)]
        return handed, sought

    handed, sought = asyncio.run(run())
    assert handed == []
    assert sought == [(TP("user-event-batches", 0), 5)]
