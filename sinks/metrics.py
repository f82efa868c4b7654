"""The sink's Prometheus metrics: one registry per sink, served on its metrics port.

The sink counts once per poll (messages per topic) and once per insert (rows per table),
never per message into a metric: a prometheus_client counter increment takes a lock and
costs about a microsecond. Counters are thread-safe, so the insert thread, the main loop
and the HTTP server's thread can share them. docs/metrics.md lists every metric.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from sinks.rows import COLUMNS

log = logging.getLogger(__name__)

PREFIX = "orbitstream_sink_"
# The lag gauge is refreshed this often from the consumer's local state (no broker call).
LAG_EVERY_S = 1.0
DEFAULT_PORT = 9300
_ERROR_CLASS = COLUMNS["dead_letters"].index("error_class")


class SinkMetrics:
    """The sink's counters and gauges in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_in = Counter(
            f"{PREFIX}events_in", "Messages the sink consumed, per topic.", ["topic"], registry=r
        )
        self.dead_letters = Counter(
            f"{PREFIX}dead_letters",
            "Messages the sink could not decode or map (stored as dead_letters rows with stage "
            "sink), per reason (the error class).",
            ["reason"],
            registry=r,
        )
        self.rows = Counter(
            f"{PREFIX}rows", "Rows ClickHouse acknowledged, per table.", ["table"], registry=r
        )
        self.insert_failures = Counter(
            f"{PREFIX}insert_failures",
            "Inserts that failed (and are retried with backoff), per table.",
            ["table"],
            registry=r,
        )
        self.lag = Gauge(
            f"{PREFIX}consumer_lag",
            "Messages on the broker behind the sink's consumer position, per assigned partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.buffered = Gauge(
            f"{PREFIX}buffered_messages", "Messages consumed and not yet in the warehouse.", registry=r
        )
        self._lag_at = 0.0
        self._lag_labels: set[tuple[str, str]] = set()

    def polled(self, per_topic: Mapping[str, int], consumer: Any) -> None:
        """After a poll: the messages it consumed per topic; the lag when it is due."""
        for topic, n in per_topic.items():
            self.events_in.labels(topic).inc(n)
        self.refresh_lag(consumer)

    def dead_lettered(self, values: Any) -> None:
        """A dead_letters row the sink made itself (its column values)."""
        self.dead_letters.labels(str(values[_ERROR_CLASS])).inc()

    def refresh_lag(self, consumer: Any, *, force: bool = False) -> None:
        """Lag per assigned partition: the high watermark of the last fetch minus the position.

        Both are known to the consumer locally, so this asks the broker nothing; a partition
        not fetched yet has no figure. At most once per ``LAG_EVERY_S`` unless ``force``.
        """
        now = time.monotonic()
        if not force and now - self._lag_at < LAG_EVERY_S:
            return
        self._lag_at = now
        labels: set[tuple[str, str]] = set()
        for tp in consumer.position(consumer.assignment()):
            _, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), cached=True)
            if high < 0 or tp.offset < 0:
                continue
            key = (tp.topic, str(tp.partition))
            self.lag.labels(*key).set(max(0, high - tp.offset))
            labels.add(key)
        for gone in self._lag_labels - labels:
            self.lag.remove(*gone)  # revoked: another sink reports it now
        self._lag_labels = labels


def serve(metrics: SinkMetrics, host: str, port: int | None) -> Any:
    """Serve ``/metrics`` on a daemon thread; returns the server (``shutdown()`` stops it).

    ``port`` None: ``DEFAULT_PORT`` if free, else any free port (the log says which).
    """
    try:
        server, _thread = start_http_server(
            DEFAULT_PORT if port is None else port, addr=host, registry=metrics.registry
        )
    except OSError as exc:
        if port is not None:
            raise OSError(f"sink.metrics_port {port} on {host} cannot be bound: {exc}") from exc
        server, _thread = start_http_server(0, addr=host, registry=metrics.registry)
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return server
