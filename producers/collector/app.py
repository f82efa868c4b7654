"""The collector's ASGI app: routes, and the answers each failure gets.

| route | answers |
| --- | --- |
| POST /v1/events | 200 per-event accepted/rejected; 400 malformed; 401 key; 413 too big; 503 Kafka |
| POST /webhooks/{github,discourse} | 200 (mapped or ignored); 400; 401 signature; 404 unset; 413; 503 |
| GET /health, /ready, /metrics | liveness, Kafka reachability, Prometheus text |
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.caching import BoundedCache
from foundation.settings import Settings
from producers.collector.auth import ApiKeys, presented_key, signature_valid
from producers.collector.body import BodyError, parse_json, read_bounded
from producers.collector.delivery import KafkaUnavailable, Unsendable
from producers.collector.discourse import instance_name, map_discourse
from producers.collector.events import Problem, check_batch
from producers.collector.github import map_github
from producers.collector.metrics import CollectorMetrics
from producers.sdk import Prepared
from schemas.models import Event

log = logging.getLogger("orbitstream.collector")


class EventSink(Protocol):
    """What the app needs from delivery (:class:`producers.collector.delivery.Delivery`)."""

    def prepare(self, events: Sequence[tuple[int, Event]]) -> tuple[list[Prepared], list[Unsendable]]: ...
    async def send(self, prepared: Sequence[Prepared]) -> None: ...
    async def ready(self) -> bool: ...
    def close(self) -> None: ...


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class _Measure:
    """ASGI middleware: every answer counted per route and status, and timed."""

    def __init__(self, app: ASGIApp, metrics: CollectorMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.metrics.route_label(scope["path"])
        status = 500
        started = time.perf_counter()

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


class Collector:
    """The route handlers of one app instance (its settings, delivery and metrics)."""

    def __init__(self, settings: Settings, sink: EventSink | None, metrics: CollectorMetrics) -> None:
        self.settings = settings.collector
        self.sink = sink  # set on startup when the app opens its own producer
        self.metrics = metrics
        self.keys = ApiKeys(self.settings.api_keys)
        # A delivery whose payload carries no time (GitHub's member event) is dated when first
        # received: a redelivery then keeps the warehouse row's key (it orders by time, id).
        self.first_received: BoundedCache[tuple[str, str], datetime] = BoundedCache(
            lambda _: datetime.now(UTC), size=100_000
        )

    def _sink(self) -> EventSink:
        if self.sink is None:
            raise RuntimeError("the collector's producer is opened on startup (lifespan)")
        return self.sink

    def _unavailable(self, exc: KafkaUnavailable) -> JSONResponse:
        log.warning("Kafka unavailable, answering 503: %s", exc)
        return _error(503, f"Kafka unavailable: {exc}", **{"Retry-After": str(self.settings.retry_after_s)})

    async def events(self, request: Request) -> Response:
        source = self.keys.source_for(presented_key(request.headers))
        if source is None:
            why = "missing" if presented_key(request.headers) is None else "unknown"
            log.warning("401 on /v1/events from %s: %s API key", request.client and request.client.host, why)
            return _error(401, f"{why} API key")
        try:
            body = await read_bounded(request, self.settings.max_body_bytes)
            checked = check_batch(parse_json(body), source, self.settings.max_batch_events)
        except BodyError as exc:
            return _error(exc.status, exc.message)
        prepared, unsendable = self._sink().prepare(checked.valid)
        for item in unsendable:
            checked.rejected[item.position] = [Problem(item.field, item.reason, "illegal_identity")]
        try:
            await self._sink().send(prepared)
        except KafkaUnavailable as exc:
            return self._unavailable(exc)
        results: list[dict[str, Any]] = []
        valid = {n: event for n, event in checked.valid if n not in checked.rejected}
        for n in range(len(valid) + len(checked.rejected)):
            if n in valid:
                results.append({"index": n, "status": "accepted", "event_id": valid[n].event_id})
            else:
                problems = checked.rejected[n]
                for p in problems:
                    self.metrics.rejected.labels("/v1/events", p.kind).inc()
                results.append({"index": n, "status": "rejected", "errors": [p.to_json() for p in problems]})
        self.metrics.accepted.labels("/v1/events").inc(len(valid))
        return JSONResponse({"accepted": len(valid), "rejected": len(checked.rejected), "results": results})

    async def github(self, request: Request) -> Response:
        return await self._webhook(
            request,
            "github",
            self.settings.github_secret,
            "x-hub-signature-256",
            "x-github-event",
            "x-github-delivery",
            lambda event, delivery, payload, now: map_github(event, delivery, payload, now),
        )

    async def discourse(self, request: Request) -> Response:
        instance = instance_name(request.headers.get("x-discourse-instance"))
        return await self._webhook(
            request,
            "discourse",
            self.settings.discourse_secret,
            "x-discourse-event-signature",
            "x-discourse-event",
            "x-discourse-event-id",
            lambda event, delivery, payload, now: map_discourse(event, delivery, instance, payload, now),
        )

    async def _webhook(
        self,
        request: Request,
        name: str,
        secret: SecretStr | None,
        signature_header: str,
        event_header: str,
        delivery_header: str,
        mapper: Callable[[str, str, dict[str, Any], datetime], list[Event]],
    ) -> Response:
        route = f"/webhooks/{name}"
        if secret is None:
            return _error(404, f"the {name} webhook is not configured")
        try:
            body = await read_bounded(request, self.settings.webhook_max_body_bytes)
        except BodyError as exc:
            return _error(exc.status, exc.message)
        if not signature_valid(secret, body, request.headers.get(signature_header)):
            why = "missing" if signature_header not in request.headers else "wrong"
            log.warning("401 on %s from %s: %s signature", route, request.client and request.client.host, why)
            return _error(401, f"{why} signature ({signature_header})")
        event, delivery = request.headers.get(event_header), request.headers.get(delivery_header)
        if not event or not delivery:
            return _error(400, f"{event_header} and {delivery_header} headers are required")
        try:
            payload = parse_json(_form_payload(body) if _is_form(request) else body)
            if not isinstance(payload, dict):
                raise BodyError(400, "a webhook payload is a JSON object")
            events = mapper(event, delivery, payload, self.first_received.get((name, delivery)))
        except BodyError as exc:
            return _error(exc.status, exc.message)
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            self.metrics.rejected.labels(route, "unmappable").inc()
            return _error(400, f"{name} {event} payload cannot be mapped: {type(exc).__name__}: {exc}")
        if not events:
            self.metrics.ignored.labels(name, event).inc()
            return JSONResponse({"ignored": event, "delivery": delivery})
        prepared, unsendable = self._sink().prepare(list(enumerate(events)))
        for item in unsendable:
            self.metrics.rejected.labels(route, "illegal_identity").inc()
            log.warning("%s delivery %s: event %d not sent: %s", name, delivery, item.position, item.reason)
        try:
            await self._sink().send(prepared)
        except KafkaUnavailable as exc:
            return self._unavailable(exc)
        refused = {item.position for item in unsendable}
        sent = [e for n, e in enumerate(events) if n not in refused]
        self.metrics.accepted.labels(route).inc(len(sent))
        return JSONResponse(
            {
                "delivery": delivery,
                "accepted": len(sent),
                "events": [{"event_id": e.event_id, "type": type(e).__name__} for e in sent],
            }
        )

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        if await self._sink().ready():
            return JSONResponse({"status": "ready", "kafka": "reachable"})
        return JSONResponse({"status": "not ready", "kafka": "unreachable"}, status_code=503)

    async def metrics_page(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def _form_payload(body: bytes) -> bytes:
    """GitHub's form content type: the JSON document is the ``payload`` field."""
    values = parse_qs(body.decode("utf-8", "replace")).get("payload")
    if not values:
        raise BodyError(400, "form-encoded delivery without a payload field")
    return values[0].encode()


def create_app(
    settings: Settings,
    *,
    sink: EventSink | None = None,
    registry: CollectorRegistry | None = None,
) -> Starlette:
    """The collector app. Without ``sink`` it opens a producer on startup and closes it on shutdown."""
    metrics = CollectorMetrics(registry or CollectorRegistry())
    collector = Collector(settings, sink, metrics)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = collector.sink is None
        if owned:
            from producers.collector.delivery import Delivery

            collector.sink = Delivery(settings)
        try:
            yield
        finally:
            if owned and collector.sink is not None:
                collector.sink.close()
                collector.sink = None

    routes = [
        Route("/v1/events", collector.events, methods=["POST"]),
        Route("/webhooks/github", collector.github, methods=["POST"]),
        Route("/webhooks/discourse", collector.discourse, methods=["POST"]),
        Route("/health", collector.health, methods=["GET"]),
        Route("/ready", collector.ready, methods=["GET"]),
        Route("/metrics", collector.metrics_page, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(_Measure, metrics=metrics)
    app.state.metrics = metrics
    return app
