"""Builds the Faust app: settings in, a configured app with every agent registered out.

Domain modules declare their own topics, tables and agents in a ``register`` function
(topics sit next to the agents that use them); this module only wires them together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import faust

from foundation.kafka_access import faust_auth
from foundation.settings import Settings
from schemas.catalog import SchemaCatalog
from schemas.pseudonyms import deterministic_ids
from schemas.serde import serde_from_settings
from schemas.topics import COMMUNITY_EVENTS, DEAD_LETTERS, PRODUCT_EVENTS
from streams.activity import agents as activity_agents
from streams.context import StreamContext, utc_now
from streams.errors import DeadLetters, halt_worker
from streams.fastout import FastProducer
from streams.identity import agents as identity_agents
from streams.identity.front import FrontTopics, ResolveFront
from streams.mentors import agents as mentor_agents
from streams.metrics import MetricsServer, worker_registry
from streams.transport import WorkerApp


def faust_config(settings: Settings) -> dict[str, Any]:
    """Faust settings, tuned for latency (see docs/streams.md for why each is set)."""
    w = settings.worker
    kafka = settings.kafka
    conf: dict[str, Any] = {
        "broker": [f"kafka://{hostport.strip()}" for hostport in kafka.bootstrap_servers.split(",")],
        "store": w.store,
        "datadir": str(w.data_dir),
        "autodiscover": False,
        # exactly_once has open rebalance bugs (faust-streaming #323, #440, #517): outputs
        # carry deterministic ids instead, so at-least-once redelivery is idempotent downstream.
        "processing_guarantee": "at_least_once",
        "topic_partitions": settings.topics.partitions,
        "topic_replication_factor": settings.topics.replication_factor,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": w.commit_interval_s,
        "broker_commit_every": w.commit_every,
        "producer_linger_ms": w.producer_linger_ms,
        "producer_acks": w.producer_acks,
        "stream_buffer_maxsize": w.stream_buffer_maxsize,
        "table_standby_replicas": w.table_standby_replicas,
        # A killed member's partitions move once its session expires (Faust's default 60 s).
        "broker_session_timeout": w.session_timeout_s,
        "broker_heartbeat_interval": w.heartbeat_interval_s,
        # Send outputs at once, not when the source offset is committed (seconds later).
        "stream_publish_on_commit": False,
        # The entry points resolve an unset port first (placement.py); unresolved here: none.
        "web_enabled": bool(w.web_port),
        "web_port": w.web_port or 6066,
        "web_bind": "127.0.0.1",
        "web_in_thread": False,
    }
    # The same protocol, SASL credentials and CA as every librdkafka client (kafka_access.py).
    conf.update(faust_auth(kafka))
    return conf


def _fast_producer(settings: Settings, stage: str) -> FastProducer:
    return FastProducer(
        {
            **settings.kafka.confluent_config(),
            "client.id": f"{settings.worker.app_id}-{stage}",
            # Each stage flushes at the end of its batch, which sends what is queued at once:
            # a linger only delays that flush (p99 at 120 events/s about halved without one).
            "linger.ms": 0,
        }
    )


def _start_resolve_front(
    app: WorkerApp, ctx: StreamContext, join: identity_agents.JoinTopics, producer: FastProducer, batches: str
) -> None:
    """The batch resolve stage runs beside the agents, on the partitions Faust gives them."""
    front = ResolveFront(
        app,
        ctx,
        producer,
        FrontTopics(
            links=join.links,
            product_in=ctx.topic_name(PRODUCT_EVENTS),
            community_in=ctx.topic_name(COMMUNITY_EVENTS),
            product_out=join.product_by_user.get_topic_name(),
            community_out=join.community_by_user.get_topic_name(),
            batches=batches,
            edges=join.edges,
            refusals=join.refusals,
            dead_letters=ctx.topic_name(DEAD_LETTERS),
        ),
    )

    async def on_rebalance_complete(_app: Any, **_kwargs: Any) -> None:
        await front.sync_assignment()

    async def on_revoked(_app: Any, revoked: set[Any], **_kwargs: Any) -> None:
        await front.release({tp.partition for tp in revoked if tp.topic == front.topics.batches})

    async def on_shutdown(_app: Any, **_kwargs: Any) -> None:
        await front.close()
        producer.close()

    # mode's handler type is a Protocol no plain function satisfies under mypy.
    app.on_rebalance_complete.connect(on_rebalance_complete)  # type: ignore[arg-type]
    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]
    app.on_before_shutdown.connect(on_shutdown)  # type: ignore[arg-type]

    async def run_front() -> None:
        try:
            await front.run()
        except Exception as exc:
            # Nothing of the batch in hand was stored as done: exit before anything else
            # runs, so a restarted worker reads it again (errors.halt_worker).
            ctx.health.died("resolve-front", exc)
            halt_worker("resolve-front", exc)
            raise

    app.task(run_front)


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> faust.App:
    """A worker app for ``settings``: identity resolution, the per-user join, mentors."""
    app = WorkerApp(
        settings.topics.name(settings.worker.app_id),
        fetch_max_wait_ms=settings.worker.consumer_fetch_max_wait_ms,
        fetch_min_bytes=settings.worker.consumer_fetch_min_bytes,
        **faust_config(settings),
    )
    ctx = StreamContext(
        settings=settings,
        serde=serde_from_settings(settings.kafka, SchemaCatalog.load()),
        clock=clock,
        deterministic_id=deterministic_ids(settings.privacy),
    )
    # The join's outputs and changelog: Faust's commits wait for this one.
    producer = _fast_producer(settings, "join")
    app.fast_producer = producer
    dead_letters = DeadLetters(app, ctx)
    join_topics = identity_agents.register(app, ctx)
    mentor_topics = mentor_agents.register(app, ctx, dead_letters)
    batches = activity_agents.register(app, ctx, dead_letters, join_topics, mentor_topics, producer)
    # The resolve stage has its own, so neither stage's flush waits for the other's records
    # (a join flush behind the resolve stage's backlog of forwarded events took up to 60 ms).
    _start_resolve_front(app, ctx, join_topics, _fast_producer(settings, "resolve"), batches)

    async def close_join_producer(_app: Any, **_kwargs: Any) -> None:
        producer.close()  # a later commit still flushes it, in place

    app.on_before_shutdown.connect(close_join_producer)  # type: ignore[arg-type]

    async def health(web: Any, request: Any) -> Any:
        snapshot = ctx.health.snapshot()
        return web.json(snapshot, status=200 if snapshot["healthy"] else 503)

    app.page("/health/")(health)
    _serve_metrics(app, ctx)
    return app


def _serve_metrics(app: WorkerApp, ctx: StreamContext) -> None:
    """Prometheus /metrics on the worker's metrics port (unset here or 0: not served)."""
    w = ctx.settings.worker
    if not w.metrics_port:
        return
    server = MetricsServer(worker_registry(ctx.health), w.metrics_host, w.metrics_port)

    async def start_metrics() -> None:
        try:
            await server.start()
        except OSError as exc:
            raise OSError(
                f"worker.metrics_port {w.metrics_port} on {w.metrics_host} cannot be bound: {exc}"
            ) from exc

    async def stop_metrics(_app: Any, **_kwargs: Any) -> None:
        await server.stop()

    app.task(start_metrics)
    app.on_before_shutdown.connect(stop_metrics)  # type: ignore[arg-type]
