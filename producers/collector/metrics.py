"""The collector's Prometheus metrics, in a registry owned by one app instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

ROUTES = frozenset({"/v1/events", "/webhooks/github", "/webhooks/discourse", "/health", "/ready", "/metrics"})


class CollectorMetrics:
    """Counters and a latency histogram; labels are bounded (unknown paths count as "other")."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "orbitstream_collector_requests",
            "HTTP requests answered, per route and status code.",
            ["route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "orbitstream_collector_request_seconds",
            "Time to answer a request, per route.",
            ["route"],
            registry=registry,
        )
        self.accepted = Counter(
            "orbitstream_collector_events_accepted",
            "Events acknowledged by Kafka, per route.",
            ["route"],
            registry=registry,
        )
        self.rejected = Counter(
            "orbitstream_collector_events_rejected",
            "Events refused, per route and reason (validation error type, unknown_type, ...).",
            ["route", "reason"],
            registry=registry,
        )
        self.ignored = Counter(
            "orbitstream_collector_webhooks_ignored",
            "Webhook deliveries acknowledged but not mapped to events, per source and event type.",
            ["source", "event"],
            registry=registry,
        )

    @staticmethod
    def route_label(path: str) -> str:
        return path if path in ROUTES else "other"
