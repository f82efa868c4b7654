"""Builds the Faust app: settings in, a configured app with every agent registered out.

Domain modules declare their own topics, tables and agents in a ``register`` function
(topics sit next to the agents that use them); this module only wires them together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import faust

from infra.settings import Settings
from schemas.catalog import SchemaCatalog
from schemas.serde import serde_from_settings
from streams.activity import agents as activity_agents
from streams.context import StreamContext, utc_now
from streams.errors import DeadLetters
from streams.identity import agents as identity_agents
from streams.mentors import agents as mentor_agents
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
        # A killed member's partitions move once its session expires (Faust's default 60 s).
        "broker_session_timeout": w.session_timeout_s,
        "broker_heartbeat_interval": w.heartbeat_interval_s,
        # Send outputs at once, not when the source offset is committed (seconds later).
        "stream_publish_on_commit": False,
        "web_enabled": w.web_port > 0,
        "web_port": w.web_port or 6066,
        "web_bind": "127.0.0.1",
        "web_in_thread": False,
    }
    if kafka.sasl_mechanism and kafka.sasl_username is not None and kafka.sasl_password is not None:
        conf["broker_credentials"] = faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            mechanism=kafka.sasl_mechanism,
        )
    return conf


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
    )
    dead_letters = DeadLetters(app, ctx)
    join_topics = identity_agents.register(app, ctx, dead_letters)
    mentor_topics = mentor_agents.register(app, ctx, dead_letters)
    activity_agents.register(app, ctx, dead_letters, join_topics, mentor_topics)

    async def health(web: Any, request: Any) -> Any:
        snapshot = ctx.health.snapshot()
        return web.json(snapshot, status=200 if snapshot["healthy"] else 503)

    app.page("/health/")(health)
    return app
