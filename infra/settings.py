"""The one typed place for configuration.

Built once at an entry point (CLI, worker, test fixture) with :func:`load_settings`
and passed down explicitly. Nothing here is read at import time.
Environment variables use the ``ORBITSTREAM_`` prefix and ``__`` for nesting,
e.g. ``ORBITSTREAM_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ORBITSTREAM_"
NESTED_DELIMITER = "__"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(_Section):
    """How every client (producer SDK, stream workers, sinks) reaches Kafka."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    # With no registry the serde uses Avro single-object encoding against schemas/.
    schema_registry_url: str | None = None
    schema_registry_basic_auth: SecretStr | None = None

    def confluent_config(self) -> dict[str, str | int | float | bool]:
        """Connection properties in librdkafka's vocabulary."""
        conf: dict[str, str | int | float | bool] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location is not None:
            conf["ssl.ca.location"] = str(self.ssl_ca_location)
        return conf


class TopicSettings(_Section):
    """Topic names. A prefix lets tests and tenants run side by side on one cluster."""

    prefix: str = ""
    partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"


class ProducerSettings(_Section):
    """Producer SDK tuning (librdkafka), on top of the connection settings in ``kafka``."""

    linger_ms: int = Field(default=5, ge=0, description="Batching wait: throughput vs a few ms of latency.")
    compression: Literal["none", "lz4", "zstd", "gzip", "snappy"] = "lz4"
    delivery_timeout_ms: int = Field(
        default=30_000, ge=1000, description="Give up (and report an error) after retrying this long."
    )
    queue_max_messages: int = Field(default=100_000, ge=1, description="Local buffer before send() blocks.")


class WarehouseSettings(_Section):
    """Where ClickHouse is: the embedded chdb server by default, any clickhouse-server in production."""

    host: str = "127.0.0.1"
    port: int = 8123
    username: str = "default"
    password: SecretStr = SecretStr("")
    database: str = "orbitstream"
    secure: bool = False
    # The embedded server answers uncompressed; a real server may compress.
    compress: bool = False
    # Embedded server only: where chdb keeps its data.
    data_dir: Path = Path("var/warehouse")


class SinkSettings(_Section):
    """Kafka -> ClickHouse loading: batch bounds, backpressure and retry (docs/sink.md)."""

    group_id: str = Field(default="orbitstream-sink", description="Consumer group (prefixed like topics).")
    # Under a backlog batches fill to this (fewer, larger inserts: each costs chdb ~10-15 ms).
    batch_max_rows: int = Field(default=20_000, ge=1, description="Messages per topic-partition batch.")
    # Freshness: the longest a message waits in the sink when it is caught up (docs/sink.md).
    batch_max_seconds: float = Field(default=0.5, gt=0, description="A batch is flushed at this age.")
    max_buffered_rows: int = Field(default=100_000, ge=1, description="Consumption pauses at this backlog.")
    fetch_max_wait_ms: int = Field(
        default=50, ge=1, le=1000, description="Longest a consumer fetch waits for data (freshness)."
    )
    backoff_initial_s: float = Field(default=0.2, gt=0, description="First retry delay of a failed insert.")
    backoff_max_s: float = Field(default=10.0, gt=0, description="Retry delays double up to this.")
    session_timeout_ms: int = Field(default=45_000, ge=1000, description="Consumer group session timeout.")
    # Failure tests only: SIGKILL the sink after its Nth batch insert, before the commit.
    crash_after_batches: int = Field(default=0, ge=0)


class WorkerSettings(_Section):
    """How a stream worker runs: identity, state store and the knobs that set latency.

    Defaults favour latency over throughput (see docs/streams.md for the measurements).
    """

    app_id: str = Field(default="orbitstream-workers", description="Faust app id = consumer group.")
    store: str = Field(
        default="rocksdb://", description="Table store: rocksdb:// in production, memory:// for tests."
    )
    data_dir: Path = Field(default=Path("var/worker"), description="RocksDB tables and worker state.")
    web_port: int = Field(default=6066, ge=0, description="Faust web server (health) port; 0 disables.")
    # Commit often: at-least-once replays at most this much after a crash.
    commit_interval_s: float = Field(default=1.0, gt=0)
    commit_every: int = Field(default=1000, ge=1)
    # Small producer linger: each hop through an internal topic pays it once.
    producer_linger_ms: int = Field(default=1, ge=0)
    producer_acks: int = Field(default=-1, description="-1 = all in-sync replicas.")
    stream_buffer_maxsize: int = Field(default=4096, ge=1)
    # A partition whose records were just processed waits for the fetch in flight to
    # return before it is fetched again: this bounds that wait (Faust's driver: 1500).
    consumer_fetch_max_wait_ms: int = Field(default=10, ge=1, le=1500)
    # The broker answers a fetch once this much is there or the wait is up. 1 = at once:
    # lowest latency. 16384 saves a third of the CPU per event at 100-250 events/s (fewer,
    # fuller fetches) but doubles p50 at 100 events/s; no difference at saturation.
    consumer_fetch_min_bytes: int = Field(default=1, ge=1)
    # Absence triggers (silence, unanswered) are checked this often against event time.
    tick_interval_s: float = Field(default=1.0, gt=0)


def _product_weights() -> dict[str, float]:
    return {
        "SessionStarted": 1.0,
        "FeatureUsed": 2.0,
        "ApiCall": 1.0,
        "PlanChanged": 3.0,
        "SupportTicketOpened": 0.5,
        "SupportTicketClosed": 0.0,
    }


def _community_weights() -> dict[str, float]:
    return {
        "MemberJoined": 1.0,
        "PostCreated": 3.0,
        "ReplyCreated": 4.0,
        "AnswerAccepted": 8.0,
        "ReactionAdded": 1.0,
        "Mention": 2.0,
        "EventAttended": 4.0,
        "OnboardingStepCompleted": 1.0,
        "QuestionTagged": 0.0,
    }


def _orbit_activity_weights() -> dict[str, int]:
    # Orbit Model activity weights, 1 (light touch) to 12 (major contribution).
    return {
        "MemberJoined": 1,
        "ReactionAdded": 1,
        "QuestionTagged": 1,
        "OnboardingStepCompleted": 1,
        "Mention": 2,
        "PostCreated": 3,
        "EventAttended": 4,
        "ReplyCreated": 5,
        "AnswerAccepted": 8,
    }


class ScoringSettings(_Section):
    """Engagement score: time-decayed weighted activity, product and community components."""

    half_life_hours: float = Field(default=168, gt=0, description="A week-old event counts half.")
    product_weights: dict[str, float] = Field(default_factory=_product_weights)
    community_weights: dict[str, float] = Field(default_factory=_community_weights)
    failed_api_call_weight: float = Field(default=0.0, description="A failed API call shows no value.")


class OrbitSettings(_Section):
    """Orbit Model levels: 1 inner (contributors) ... 4 outer (observers). See docs/scoring.md."""

    activity_weights: dict[str, int] = Field(default_factory=_orbit_activity_weights)
    # Minimum activity weight seen in the window to reach levels 1, 2, 3.
    weight_thresholds: tuple[int, int, int] = (8, 5, 3)
    weight_window_days: int = Field(default=30, ge=1)
    # Presence milestones (active days, window days) reaching levels 1, 2, 3.
    presence_milestones: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] = (
        (30, 90),
        (7, 30),
        (2, 7),
    )
    downgrade_hold_days: float = Field(default=14, ge=0, description="A level only drops after this long.")
    reach_half_life_days: float = Field(default=30, gt=0)
    indirect_reach_weight: float = Field(
        default=0.25, ge=0, description="Reactions count for less than replies."
    )


class TriggerSettings(_Section):
    """Churn-risk triggers. Each fires once per episode and re-arms when the user recovers."""

    usage_recent_days: int = Field(default=3, ge=1, description="Recent window compared to the baseline.")
    usage_baseline_days: int = Field(default=14, ge=1, description="Baseline window before the recent one.")
    usage_min_baseline_per_day: float = Field(
        default=1.0, gt=0, description="Too little use to judge below this."
    )
    usage_drop_ratio: float = Field(default=0.3, gt=0, lt=1, description="Fire below this share of baseline.")
    usage_recover_ratio: float = Field(
        default=0.6, gt=0, le=1, description="Re-arm at this share of baseline."
    )
    api_error_streak: int = Field(default=3, ge=1, description="Failed calls in a row with no success.")
    question_unanswered_hours: float = Field(default=48, gt=0)
    silence_days: float = Field(default=14, gt=0, description="An active member silent this long.")
    silence_min_active_days: int = Field(
        default=3, ge=1, description="Active days (in 30) that make 'active'."
    )
    onboarding_days: float = Field(default=7, gt=0, description="Onboarding due within this after signup.")


class StreamSettings(_Section):
    """What the stream workers compute."""

    scoring: ScoringSettings = ScoringSettings()
    orbit: OrbitSettings = OrbitSettings()
    triggers: TriggerSettings = TriggerSettings()


class MentorSettings(_Section):
    """Mentor matching: who recently solved the error class a user just hit."""

    window_days: float = Field(default=90, gt=0, description="Accepted answers older than this don't count.")
    max_mentors: int = Field(default=3, ge=1, description="Mentors per suggestion, best first.")
    cooldown_hours: float = Field(
        default=24, ge=0, description="At most one suggestion per user and error class in this time."
    )
    max_solvers_per_class: int = Field(default=50, ge=1, description="Bounds the per-class state.")


class AnalysesSettings(_Section):
    """Inputs of the packaged analyses and the report (definitions: docs/analyses.md)."""

    # Orbit Model gravity weights of levels 1 (inner) .. 4 (outer): Leading 10,
    # Contributing 7, Participating 4, Exploring 1 (orbit-love/orbit-model, "Measure gravity").
    orbit_level_weights: tuple[float, float, float, float] = (10.0, 7.0, 4.0, 1.0)
    retention_day: int = Field(default=30, ge=1, description="Retained at day N after signup.")
    retention_window_days: int = Field(
        default=7, ge=1, description="Retained = active in the last this-many days before day N."
    )
    member_within_days: int = Field(
        default=7, ge=0, description="Cohort analyses count a user as a member if joined this soon."
    )
    period_days: int = Field(default=7, ge=1, description="Length of a period in time series.")
    report_periods: int = Field(default=12, ge=1, description="Periods the report covers at most.")

    @model_validator(mode="after")
    def _window_within_day(self) -> AnalysesSettings:
        if self.retention_window_days > self.retention_day:
            raise ValueError("retention_window_days must not exceed retention_day")
        return self


class Settings(BaseSettings):
    """All of orbitstream's configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        frozen=True,
        extra="forbid",
    )

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    producer: ProducerSettings = ProducerSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    worker: WorkerSettings = WorkerSettings()
    sink: SinkSettings = SinkSettings()
    mentors: MentorSettings = MentorSettings()
    streams: StreamSettings = StreamSettings()
    analyses: AnalysesSettings = AnalysesSettings()


class UnknownSettingError(ValueError):
    """An ``ORBITSTREAM_*`` environment variable names no setting."""


def _check_environment(environ: dict[str, str]) -> None:
    """Fail on misspelt variables: silently ignoring them hides misconfiguration."""
    known_sections = {name: field.annotation for name, field in Settings.model_fields.items()}
    for key in environ:
        if not key.startswith(ENV_PREFIX):
            continue
        parts = key[len(ENV_PREFIX) :].lower().split(NESTED_DELIMITER)
        section = known_sections.get(parts[0])
        if section is None:
            raise UnknownSettingError(f"{key}: no setting section {parts[0]!r}")
        if len(parts) > 1 and isinstance(section, type) and issubclass(section, BaseModel):
            if parts[1] not in section.model_fields:
                raise UnknownSettingError(f"{key}: {parts[0]} has no setting {parts[1]!r}")


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment (and explicit overrides), validating every name."""
    _check_environment(dict(os.environ))
    return Settings(**overrides)  # type: ignore[arg-type]


def _plain(value: object) -> object:
    """JSON-ready form of a settings value, secrets included (for a child process's env)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def to_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that rebuild ``settings`` in a child process (one JSON per section)."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        section = getattr(settings, name)
        env[f"{ENV_PREFIX}{name.upper()}"] = json.dumps(_plain(section.model_dump()))
    return env
