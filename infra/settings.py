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

from pydantic import BaseModel, ConfigDict, Field, SecretStr
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

    def confluent_config(self) -> dict[str, str]:
        """Connection properties in librdkafka's vocabulary."""
        conf: dict[str, str] = {
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
    # Absence triggers (silence, unanswered) are checked this often against event time.
    tick_interval_s: float = Field(default=1.0, gt=0)


class MentorSettings(_Section):
    """Mentor matching: who recently solved the error class a user just hit."""

    window_days: float = Field(default=90, gt=0, description="Accepted answers older than this don't count.")
    max_mentors: int = Field(default=3, ge=1, description="Mentors per suggestion, best first.")
    cooldown_hours: float = Field(
        default=24, ge=0, description="At most one suggestion per user and error class in this time."
    )
    max_solvers_per_class: int = Field(default=50, ge=1, description="Bounds the per-class state.")


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
    warehouse: WarehouseSettings = WarehouseSettings()
    worker: WorkerSettings = WorkerSettings()
    mentors: MentorSettings = MentorSettings()


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
