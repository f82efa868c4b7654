"""The workload's producer, on its own thread so faults can be injected while it sends.

Sends at a fixed rate through the producer SDK. At ``pause_at`` (the broker fault) it
flushes and closes its producer, waits until the broker is down, and starts a new
producer then: a service starting while Kafka is unreachable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

from foundation.settings import Settings
from producers.sdk import DeliveryReport, EventProducer
from schemas.models import Event


class Feeder(threading.Thread):
    def __init__(
        self, settings: Settings, events: Sequence[Event], rate: float, pause_at: int | None = None
    ) -> None:
        super().__init__(name="verifier-feeder", daemon=True)
        self.settings = settings
        self.events = events
        self.rate = rate
        self.pause_at = pause_at
        self.paused = threading.Event()  # set by the feeder: it closed its producer at pause_at
        self.resume = threading.Event()  # set by the injector: the broker is down, start again
        self.finished = threading.Event()
        self.sent = 0
        self.errors: list[str] = []
        self.started_at = 0.0

    def run(self) -> None:
        self.started_at = time.monotonic()
        futures: list[Future[DeliveryReport]] = []
        producer = EventProducer(self.settings, source="verifier")
        try:
            interval = 1.0 / self.rate if self.rate > 0 else 0.0
            due = time.perf_counter()
            for i, event in enumerate(self.events):
                if i == self.pause_at:
                    self._close(producer, futures)
                    self.paused.set()
                    self.resume.wait()
                    producer = EventProducer(self.settings, source="verifier")
                    due = time.perf_counter()
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                due += interval
                futures.append(producer.send(event))
                self.sent = i + 1
            self._close(producer, futures)
        except Exception as exc:  # recorded: the verifier reports it as a failure
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.paused.set()  # an injector waiting for the pause must not hang
            self.finished.set()

    def _close(self, producer: EventProducer, futures: list[Future[DeliveryReport]]) -> None:
        try:
            producer.close()
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        for future in futures:
            if future.done() and future.exception() is not None:
                self.errors.append(str(future.exception()))
        futures.clear()

    def wait_for(self, events: int, timeout: float | None = None) -> None:
        """Until ``events`` were handed to the producer (or it finished)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.sent < events and not self.finished.is_set():
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(0.05)
