"""The stream worker's Prometheus metrics, read from its health board at scrape time.

The agents and the resolve stage count into :class:`streams.health.Health` with plain
integer increments (they run on the event loop, where per-event CPU is the budget); the
collector here turns the board into metric families only when Prometheus scrapes, and the
endpoint is served by the same event loop, so a scrape never races an increment. Each app
owns its own :class:`CollectorRegistry`: nothing is registered globally. docs/metrics.md
lists every metric.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import accumulate

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from streams.health import Health

log = logging.getLogger(__name__)

PREFIX = "orbitstream_worker_"


class HealthCollector(Collector):
    """Metric families of one worker's :class:`Health` (what the worker did since it started)."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        h = self.health
        events_in = CounterMetricFamily(
            f"{PREFIX}events_in", "Records the worker read, per topic.", labels=["topic"]
        )
        for topic, n in sorted(h.inputs.items()):
            events_in.add_metric([topic], n)
        yield events_in
        events_out = CounterMetricFamily(
            f"{PREFIX}events_out", "Records the worker sent, per topic.", labels=["topic"]
        )
        for topic, n in sorted(h.outputs.items()):
            events_out.add_metric([topic], n)
        yield events_out
        letters = CounterMetricFamily(
            f"{PREFIX}dead_letters",
            "Messages sent to the dead-letter topic, per stage and reason (the error class).",
            labels=["stage", "reason"],
        )
        for (stage, reason), n in sorted(h.dead_letter_reasons.items()):
            letters.add_metric([stage, reason], n)
        yield letters
        lag = GaugeMetricFamily(
            f"{PREFIX}consumer_lag",
            "Records on the broker behind the resolve stage's position, per input partition "
            "(as of its last batch from that partition).",
            labels=["topic", "partition"],
        )
        for (topic, partition), n in sorted(h.lag.items()):
            lag.add_metric([topic, str(partition)], n)
        yield lag
        alive = GaugeMetricFamily(
            f"{PREFIX}agent_up", "1 while the agent runs, 0 once it died.", labels=["agent"]
        )
        for name, agent in sorted(h.agents.items()):
            alive.add_metric([name], 1.0 if agent.alive else 0.0)
        yield alive
        tally = h.latency
        cumulative = list(accumulate(tally.counts))
        buckets = [(_bound(b), c) for b, c in zip(tally.bounds, cumulative, strict=False)]
        buckets.append(("+Inf", cumulative[-1]))
        latency = HistogramMetricFamily(
            f"{PREFIX}send_to_score_seconds",
            "From an event's sent_at (the producer's clock) to the worker emitting its score update.",
        )
        latency.add_metric([], buckets, tally.total)
        yield latency


def _bound(value: float) -> str:
    return repr(float(value))


def worker_registry(health: Health) -> CollectorRegistry:
    """A registry of its own holding ``health``'s collector."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(HealthCollector(health))
    return registry


class MetricsServer:
    """``GET /metrics`` for ``registry`` on the running event loop (aiohttp, Faust's own web stack)."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.host, self.port = host, port
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(registry))
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
