"""The SDK writes an identity link before any event sent after it (no broker: a stub client)."""

from __future__ import annotations

import threading
import time
from typing import Any

from foundation.settings import Settings
from producers.sdk import EventProducer
from tests.fixtures import events as ev


class HeldDeliveries:
    """A client that queues produce calls and delivers only when told to."""

    def __init__(self) -> None:
        self.produced: list[str] = []
        self.callbacks: list[Any] = []
        self.event_produced = threading.Event()

    def produce(self, topic: str, *, value: bytes, key: bytes, on_delivery: Any) -> None:
        self.produced.append(topic)
        self.callbacks.append(on_delivery)
        if not topic.endswith("identity-links"):
            self.event_produced.set()

    def deliver(self, n: int) -> None:
        class Message:
            def partition(self) -> int:
                return 0

            def offset(self) -> int:
                return n

        self.callbacks[n](None, Message())

    def poll(self, timeout: float) -> int:
        time.sleep(min(timeout, 0.01))
        return 0

    def flush(self, timeout: float = 0) -> int:
        return 0

    def close(self) -> None:
        pass


def test_an_event_sent_after_a_link_is_produced_only_once_the_link_is_written() -> None:
    producer = EventProducer(Settings(), source="test")
    client = HeldDeliveries()
    producer._producer = client  # type: ignore[assignment]  # noqa: SLF001
    person, forum = ev.product("ada-1"), ev.github("adal")
    producer.send(ev.link(person, forum, ev.at(0)))
    sender = threading.Thread(
        target=lambda: producer.send(ev.make("ReactionAdded", forum, ev.at(1), post_id="p", reaction="+1"))
    )
    sender.start()
    # Not produced while the link is in flight: Kafka could write it before the link.
    assert not client.event_produced.wait(0.3)
    assert client.produced == ["identity-links"]
    client.deliver(0)
    sender.join(5)
    assert client.produced == ["identity-links", "community-events"]
    # Events after events are not held back: the second goes straight out.
    producer.send(ev.make("FeatureUsed", person, ev.at(2), feature="export"))
    assert client.produced[-1] == "product-events"
    producer.close()
