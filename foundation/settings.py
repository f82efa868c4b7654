"""The one typed place for configuration.

Built once at an entry point (CLI, worker, test fixture) with :func:`load_settings`
and passed down explicitly. Nothing here is read at import time.
Environment variables use the ``ORBITSTREAM_`` prefix and ``__`` for nesting,
e.g. ``ORBITSTREAM_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from foundation.account_settings import AccountSettings, HealthSettings
from foundation.settings_reference import ENV_PREFIX, NESTED_DELIMITER, check_environment, json_ready

# librdkafka's own log lines go to this Python logger (with their level), not to stderr.
KAFKA_CLIENT_LOGGER = "orbitstream.kafka"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(_Section):
    """How every client (producer SDK, stream workers, sinks) reaches Kafka."""

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Brokers to bootstrap from, host:port,..."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="librdkafka security.protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism (SASL_* protocols)."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    ssl_ca_location: Path | None = Field(default=None, description="CA certificate file for SSL.")
    # librdkafka backs off up to 10 s between attempts to reach a broker; a service started
    # while the broker was down (or restarted) then waited up to 10 s after it came back
    # before sending what it had buffered. Java's Kafka clients stop at 1 s.
    reconnect_backoff_max_ms: int = Field(
        default=1000,
        ge=10,
        description="Longest wait between attempts to reach a broker, every client (librdkafka's: 10 s).",
    )
    # With no registry the serde uses Avro single-object encoding against schemas/.
    schema_registry_url: str | None = Field(
        default=None,
        description=(
            "Confluent Schema Registry URL: set, values use the Confluent wire format; "
            "unset, Avro single-object encoding against schemas/."
        ),
    )
    schema_registry_basic_auth: SecretStr | None = Field(
        default=None, description="Registry credentials as user:password."
    )
    accept_reversed_fingerprints: bool = Field(
        default=True,
        description=(
            "Also read single-object messages whose 8 fingerprint bytes are reversed, as "
            "orbitstream wrote them before it followed the Avro spec; turn off once no topic "
            "holds such messages."
        ),
    )

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        # A SASL protocol without its mechanism or credentials would only fail at the first
        # connection, as an opaque broker error: name the missing setting up front.
        if self.security_protocol.startswith("SASL_"):
            missing = [
                name
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"security_protocol {self.security_protocol} needs {', '.join(missing)}")
        return self

    def confluent_config(self) -> dict[str, Any]:
        """Connection properties in librdkafka's vocabulary, logging through Python's logging.

        The logs reach the logger when the client is polled (every client here is).
        """
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "reconnect.backoff.max.ms": self.reconnect_backoff_max_ms,
            "logger": logging.getLogger(KAFKA_CLIENT_LOGGER),
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

    prefix: str = Field(default="", description="Prepended to every topic name and consumer group.")
    partitions: int = Field(default=4, ge=1, description="Partitions of the public topics created.")
    replication_factor: int = Field(default=1, ge=1, description="Replicas of the public topics created.")

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"


class ProducerSettings(_Section):
    """Producer SDK tuning (librdkafka), on top of the connection settings in ``kafka``."""

    linger_ms: int = Field(default=5, ge=0, description="Batching wait: throughput vs a few ms of latency.")
    compression: Literal["none", "lz4", "zstd", "gzip", "snappy"] = Field(
        default="lz4", description="Producer batch compression."
    )
    delivery_timeout_ms: int = Field(
        default=30_000, ge=1000, description="Give up (and report an error) after retrying this long."
    )
    queue_max_messages: int = Field(default=100_000, ge=1, description="Local buffer before send() blocks.")


class WarehouseSettings(_Section):
    """Where ClickHouse is: the embedded chdb server by default, any clickhouse-server in production."""

    host: str = Field(default="127.0.0.1", description="ClickHouse HTTP host.")
    port: int = Field(default=8123, description="ClickHouse HTTP port.")
    username: str = Field(default="default", description="ClickHouse user.")
    password: SecretStr = Field(default=SecretStr(""), description="ClickHouse password.")
    database: str = Field(default="orbitstream", description="Database holding orbitstream's tables.")
    secure: bool = Field(default=False, description="HTTPS to ClickHouse.")
    verify: bool = Field(default=True, description="With secure: check the server's TLS certificate.")
    ca_cert: Path | None = Field(
        default=None,
        description="With secure: CA certificate file the server's certificate is checked against.",
    )
    # The embedded server answers uncompressed; a real server may compress.
    compress: bool = Field(default=False, description="Compress HTTP requests and responses.")
    data_dir: Path = Field(
        default=Path("var/warehouse"), description="Embedded server only: where chdb keeps its data."
    )


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
    # A killed sink's partitions move once its session expires: 6 s (the broker's minimum
    # by default) so a restarted sink resumes within seconds, not after 45 s.
    session_timeout_ms: int = Field(default=6000, ge=1000, description="Consumer group session timeout.")
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the Prometheus /metrics endpoint binds (0.0.0.0: all)."
    )
    # Like the workers': several sinks on one host (tests, the demo) must not collide.
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Prometheus /metrics port. Unset: 9300 if free, else any free port; 0 disables.",
    )


class WorkerSettings(_Section):
    """How a stream worker runs: identity, state store and the knobs that set latency.

    Defaults favour latency over throughput (see docs/streams.md for the measurements).
    """

    app_id: str = Field(default="orbitstream-workers", description="Faust app id = consumer group.")
    store: str = Field(
        default="rocksdb://", description="Table store: rocksdb:// in production, memory:// for tests."
    )
    # Several workers with the same settings may run on one host (scale by starting more):
    # each claims its own directory under data_dir and its own port (streams/placement.py).
    data_dir: Path = Field(
        default=Path("var/worker"),
        description="Root of the workers' state on this host: each worker uses <data_dir>/<name>.",
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="This worker's directory under data_dir; unset: the first free worker-<n>.",
    )
    web_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Health port. Unset: 6066 + n for worker-<n> if free, else any free port; 0 disables.",
    )
    # Like the web port, the metrics port follows the slot so workers on one host never collide.
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Prometheus /metrics port. Unset: 9200 + n for worker-<n> if free, else any "
        "free port; 0 disables.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the Prometheus /metrics endpoint binds (0.0.0.0: all)."
    )
    # Commit often: at-least-once replays at most this much after a crash.
    commit_interval_s: float = Field(default=1.0, gt=0, description="Offsets are committed this often.")
    commit_every: int = Field(default=1000, ge=1, description="...or after this many messages.")
    # Small producer linger: each hop through an internal topic pays it once.
    producer_linger_ms: int = Field(default=1, ge=0, description="The worker's producer batching wait.")
    producer_acks: int = Field(default=-1, description="-1 = all in-sync replicas.")
    stream_buffer_maxsize: int = Field(default=4096, ge=1, description="Faust's per-stream buffer.")
    # A partition whose records were just processed waits for the fetch in flight to
    # return before it is fetched again: this bounds that wait (Faust's driver: 1500).
    consumer_fetch_max_wait_ms: int = Field(
        default=10, ge=1, le=1500, description="Longest the broker holds a fetch for data (latency bound)."
    )
    # The broker answers a fetch once this much is there or the wait is up. 1 = at once:
    # lowest latency. 16384 saves a third of the CPU per event at 100-250 events/s (fewer,
    # fuller fetches) but doubles p50 at 100 events/s; no difference at saturation.
    consumer_fetch_min_bytes: int = Field(
        default=1, ge=1, description="The broker answers a fetch once this much is there (1: at once)."
    )
    # Faust keeps this many warm copies of each table partition on other workers, so a
    # takeover after a crash reads only the changelog tail instead of all of it.
    table_standby_replicas: int = Field(
        default=1, ge=0, description="Standby copies of each table partition kept on other workers."
    )
    front_max_batch: int = Field(
        default=1000, ge=1, description="The resolve stage reads up to this many input records per batch."
    )
    # The join folds events in one event-time order across its input partitions
    # (streams/ordering.py): an event waits until every input partition has passed
    # it, or is idle: read to its end with nothing new for this long. Lower: less waiting
    # at low rates; a sender that holds events back longer than this gets them folded late.
    source_idle_ms: int = Field(
        default=50,
        ge=1,
        description="An input partition read to its end and quiet this long stops holding the join back.",
    )
    clock_report_ms: int = Field(
        default=20, ge=1, description="Least time between the resolve stage's clock reports to the join."
    )
    # The mentor matcher applies help requests and solutions in the join's event-time order
    # (streams/mentors/ordering.py); the join tells it how far each join partition has got,
    # on its records and, when they moved, in a record of its own on every mentor input
    # partition (2 x partitions records per report, each through Faust's per-record path,
    # holding every join partition the worker owns). Lower: suggestions sooner; higher:
    # fewer records and less worker CPU.
    mentor_clock_report_ms: int = Field(
        default=250,
        ge=1,
        description="Least time between a worker's clock reports from the join to the mentor matcher.",
    )
    # Resolved events travel to the join many to a record; a record stays under this size
    # (librdkafka's default message.max.bytes is 1,000,000).
    forward_max_bytes: int = Field(
        default=900_000,
        ge=1024,
        description="Largest record the resolve stage sends to the join; a single event above it "
        "is dead-lettered as too large to forward.",
    )
    # Below the producer's max request size (1 MiB) with room for the headers: a dead letter
    # of an oversized message would otherwise fail to send exactly like the message did.
    dead_letter_max_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="A dead letter keeps at most this many bytes of the original key and value.",
    )
    # A killed worker holds its partitions until its session expires (Faust's default: 60 s).
    # 6 s is the broker's default minimum; heartbeats (from the consumer's own thread, so a
    # busy event loop does not miss them) come three or more times per session.
    session_timeout_s: float = Field(default=6.0, ge=1, description="Consumer group session timeout.")
    heartbeat_interval_s: float = Field(default=1.0, gt=0, description="Consumer group heartbeat interval.")

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> WorkerSettings:
        if self.heartbeat_interval_s * 3 > self.session_timeout_s:
            raise ValueError("heartbeat_interval_s must be at most a third of session_timeout_s")
        return self


class CollectorSettings(_Section):
    """The HTTP collector (``orbitstream collect``): events API and webhooks (docs/collector.md)."""

    host: str = Field(default="127.0.0.1", description="Address the collector listens on.")
    port: int = Field(default=8088, ge=0, le=65535, description="Port the collector listens on.")
    # Only digests are configured: a leaked settings file does not leak a usable key.
    api_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Source name -> sha256 hex digest of its API key (`orbitstream collect hash-key`).",
    )
    github_secret: SecretStr | None = Field(
        default=None, description="GitHub webhook secret; unset, /webhooks/github answers 404."
    )
    discourse_secret: SecretStr | None = Field(
        default=None, description="Discourse webhook secret; unset, /webhooks/discourse answers 404."
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest /v1/events body (413 above).")
    webhook_max_body_bytes: int = Field(
        default=5 << 20, ge=1024, description="Largest webhook body (413 above)."
    )
    max_batch_events: int = Field(default=1000, ge=1, description="Most events in one /v1/events batch.")
    # Past this an answer is 503: a client retries later instead of holding a connection open.
    delivery_timeout_s: float = Field(
        default=10.0, ge=1, description="Longest a request waits for Kafka's acknowledgement (503 after)."
    )
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After of a 503 answer.")


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
    product_weights: dict[str, float] = Field(
        default_factory=_product_weights, description="Score weight per product record name (others: 0)."
    )
    community_weights: dict[str, float] = Field(
        default_factory=_community_weights, description="Score weight per community record name (others: 0)."
    )
    failed_api_call_weight: float = Field(default=0.0, description="A failed API call shows no value.")


class OrbitSettings(_Section):
    """Orbit Model levels: 1 inner (contributors) ... 4 outer (observers). See docs/scoring.md."""

    activity_weights: dict[str, int] = Field(
        default_factory=_orbit_activity_weights,
        description="Orbit Model weight (1-12) per community record name (others: none).",
    )
    weight_thresholds: tuple[int, int, int] = Field(
        default=(8, 5, 3), description="Activity weight seen in the window that reaches levels 1, 2, 3."
    )
    weight_window_days: int = Field(default=30, ge=1, description="The activity-weight window.")
    presence_milestones: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] = Field(
        default=((30, 90), (7, 30), (2, 7)),
        description="(community days active, window days) that reach levels 1, 2, 3.",
    )
    downgrade_hold_days: float = Field(default=14, ge=0, description="A level only drops after this long.")
    reach_half_life_days: float = Field(default=30, gt=0, description="Half-life of reach.")
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
    question_unanswered_hours: float = Field(
        default=48, gt=0, description="A question with no reply from someone else this long fires."
    )
    silence_days: float = Field(default=14, gt=0, description="An active member silent this long.")
    silence_min_active_days: int = Field(
        default=3, ge=1, description="Active days (in 30) that make 'active'."
    )
    onboarding_days: float = Field(default=7, gt=0, description="Onboarding due within this after signup.")


class StreamSettings(_Section):
    """What the stream workers compute."""

    max_future_hours: float = Field(
        default=24,
        gt=0,
        description="Events dated further ahead of the worker's clock are dead-lettered (clock skew bound).",
    )
    scoring: ScoringSettings = ScoringSettings()
    orbit: OrbitSettings = OrbitSettings()
    triggers: TriggerSettings = TriggerSettings()
    accounts: AccountSettings = AccountSettings()
    health: HealthSettings = HealthSettings()


class MentorSettings(_Section):
    """Mentor matching: who recently solved the error class a user just hit."""

    window_days: float = Field(default=90, gt=0, description="Accepted answers older than this don't count.")
    max_mentors: int = Field(default=3, ge=1, description="Mentors per suggestion, best first.")
    cooldown_hours: float = Field(
        default=24, ge=0, description="At most one suggestion per user and error class in this time."
    )
    max_solvers_per_class: int = Field(default=50, ge=1, description="Bounds the per-class state.")
    pattern_count: int = Field(
        default=2, ge=1, description="Failed calls of one error class by one user that make a pattern."
    )
    pattern_window_hours: float = Field(
        default=24, gt=0, description="...within this long (event time), the latest call included."
    )
    max_requesters_per_class: int = Field(
        default=500, ge=1, description="Bounds the per-class record of who is failing lately."
    )
    inner_orbit_max_level: int = Field(
        default=2, ge=1, le=4, description="Mentors at orbit levels 1..this are preferred (inner orbit)."
    )


class AnalysesSettings(_Section):
    """Inputs of the packaged analyses and the report (definitions: docs/analyses.md)."""

    # Leading 10, Contributing 7, Participating 4, Exploring 1 (orbit-love/orbit-model, "Measure gravity").
    orbit_level_weights: tuple[float, float, float, float] = Field(
        default=(10.0, 7.0, 4.0, 1.0), description="Gravity weights of orbit levels 1 (inner) .. 4 (outer)."
    )
    retention_day: int = Field(default=30, ge=1, description="Retained at day N after signup.")
    retention_window_days: int = Field(
        default=7, ge=1, description="Retained = active in the last this-many days before day N."
    )
    member_within_days: int = Field(
        default=7, ge=0, description="Cohort analyses count a user as a member if joined this soon."
    )
    period_days: int = Field(default=7, ge=1, description="Length of a period in time series.")
    report_periods: int = Field(default=12, ge=1, description="Periods the report covers at most.")
    long_retention_day: int = Field(
        default=90, ge=1, description="First-week onboarding: also retained at this day after joining."
    )
    onboarding_within_days: int = Field(
        default=7,
        ge=0,
        description="Onboarded = completed the community onboarding sequence this soon after joining "
        "(as streams.triggers.onboarding_days judges a stalled onboarding).",
    )
    stage_lookback_days: int = Field(
        default=28, ge=1, description="Usage stages count active product days this far back."
    )
    habitual_active_days: int = Field(
        default=8, ge=1, description="Usage stage habitual: this many active product days at least."
    )
    power_active_days: int = Field(
        default=16, ge=1, description="Usage stage power: this many active product days at least."
    )
    unanswered_hours: int = Field(
        default=48,
        ge=1,
        description="A question with no reply from someone else this long is unanswered "
        "(as streams.triggers.question_unanswered_hours).",
    )
    connection_window_days: int = Field(
        default=90, ge=1, description="A meaningful connection is a conversation within this many days."
    )
    mentor_followup_days: int = Field(
        default=7, ge=1, description="Mentor outcome: an answer and the error stopping count this long after."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AnalysesSettings:
        if self.retention_window_days > self.retention_day:
            raise ValueError("retention_window_days must not exceed retention_day")
        if self.retention_window_days > self.long_retention_day:
            raise ValueError("retention_window_days must not exceed long_retention_day")
        if not self.habitual_active_days < self.power_active_days <= self.stage_lookback_days:
            raise ValueError(
                "usage stages need habitual_active_days < power_active_days <= stage_lookback_days"
            )
        return self


class PrivacySettings(_Section):
    """Pseudonymisation of personal identity values before they reach ClickHouse (docs/security.md)."""

    # Set, identity values reach the warehouse only as
    # "pn1:" + hex HMAC-SHA256(key, "provider:normalised-id"), except those of the providers below.
    pseudonymisation_key: SecretStr | None = Field(
        default=None, description="HMAC key for identity pseudonyms; unset: identities are stored as sent."
    )
    # Listed by exception, so a provider added to the contract later is pseudonymised by default.
    plain_providers: tuple[str, ...] = Field(
        default=("product",),
        description="Identity providers stored as sent even with a key (the product's own opaque user ids).",
    )

    @model_validator(mode="after")
    def _key_long_enough(self) -> PrivacySettings:
        key = self.pseudonymisation_key
        # A short key can be brute-forced together with a list of candidate emails.
        if key is not None and len(key.get_secret_value().encode()) < 16:
            raise ValueError("pseudonymisation_key must be at least 16 bytes")
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
    collector: CollectorSettings = CollectorSettings()
    privacy: PrivacySettings = PrivacySettings()


def validation_summary(exc: ValidationError) -> str:
    """One clause per problem naming the variable, without the values given.

    pydantic's own text repeats the input, which for a section holds its secrets.
    """
    return "; ".join(
        f"{ENV_PREFIX}{NESTED_DELIMITER.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment (and explicit overrides), validating every name."""
    check_environment(os.environ, Settings)
    return Settings(**overrides)  # type: ignore[arg-type]


def to_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that rebuild ``settings`` in a child process (one JSON per section)."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        section = getattr(settings, name)
        env[f"{ENV_PREFIX}{name.upper()}"] = json.dumps(json_ready(section.model_dump()))
    return env
