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
