"""Kafka security from the one place it is configured (``KafkaSettings``), in each client's terms.

librdkafka clients (producer SDK, sink, resolve stage, admin) take
:meth:`KafkaSettings.confluent_config`; Faust (aiokafka) takes :func:`faust_auth`. Both
carry the same protocol, SASL mechanism, user, password and CA file.

A rejected password is not an error librdkafka gives up on: it reconnects and retries,
and a producer's messages would only fail at their delivery timeout. :func:`check_access`
asks for the cluster's metadata once and turns an authentication failure into
:class:`KafkaAuthenticationError` within seconds; every entry point calls it before it
starts its clients. Messages name the servers, protocol, mechanism and user, never the
password.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import faust
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from foundation.exceptions import OrbitstreamError
from foundation.settings import KafkaSettings


class KafkaAccessError(OrbitstreamError):
    """Kafka could not be reached with the configured settings."""


class KafkaAuthenticationError(KafkaAccessError):
    """The brokers refused the configured credentials."""


def is_authentication_error(error: KafkaError) -> bool:
    """librdkafka's code for a SASL (or TLS client) authentication failure."""
    return bool(error.code() == KafkaError._AUTHENTICATION)  # noqa: SLF001 - librdkafka's local code


def describe(kafka: KafkaSettings) -> str:
    """Where and as whom: ``127.0.0.1:9092 over SASL_PLAINTEXT (SCRAM-SHA-256, user 'svc')``."""
    how: str = kafka.security_protocol
    if kafka.security_protocol.startswith("SASL_"):
        how += f" ({kafka.sasl_mechanism}, user {kafka.sasl_username!r})"
    return f"{kafka.bootstrap_servers} over {how}"


def is_tls_error(error: KafkaError) -> bool:
    """librdkafka's code for a failed TLS handshake (an untrusted certificate, a wrong host)."""
    return bool(error.code() == KafkaError._SSL)  # noqa: SLF001 - librdkafka's local code


def authentication_failed(kafka: KafkaSettings, detail: str) -> KafkaAuthenticationError:
    return KafkaAuthenticationError(
        f"Kafka at {describe(kafka)} refused the credentials: {detail}. "
        "Check ORBITSTREAM_KAFKA__SASL_USERNAME / ORBITSTREAM_KAFKA__SASL_PASSWORD and the mechanism."
    )


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """A TLS context for aiokafka (SSL and SASL_SSL), trusting ``ssl_ca_location`` if set."""
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(kafka.ssl_ca_location) if kafka.ssl_ca_location is not None else None
    return ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=cafile)


def faust_auth(kafka: KafkaSettings) -> dict[str, Any]:
    """Faust's ``broker_credentials`` for the settings ({} for PLAINTEXT)."""
    context = ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL_"):
        assert kafka.sasl_password is not None  # the settings validate SASL's fields
        return {
            "broker_credentials": faust.SASLCredentials(
                username=kafka.sasl_username,
                password=kafka.sasl_password.get_secret_value(),
                mechanism=kafka.sasl_mechanism,
                ssl_context=context,
            )
        }
    if context is not None:
        return {"broker_credentials": faust.SSLCredentials(context)}
    return {}


def check_access(kafka: KafkaSettings, timeout: float = 20) -> None:
    """Return once the brokers answer a metadata request with these settings.

    Raises :class:`KafkaAuthenticationError` as soon as a broker refuses the credentials,
    :class:`KafkaAccessError` as soon as a TLS handshake fails, or if no broker answers
    within ``timeout`` seconds.
    """
    errors: list[KafkaError] = []
    # log_level 0: the failure is reported once, by the exception, not by librdkafka too.
    config: dict[str, Any] = {**kafka.confluent_config(), "error_cb": errors.append, "log_level": 0}
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            admin.list_topics(timeout=0.5)
            return
        except KafkaException as exc:
            last = exc.args[0].str() if exc.args and isinstance(exc.args[0], KafkaError) else str(exc)
        admin.poll(0)  # serves error_cb
        refused = [e for e in errors if is_authentication_error(e)]
        if refused:
            raise authentication_failed(kafka, refused[0].str())
        # A certificate that is not trusted now will not be trusted on the next attempt either.
        untrusted = [e for e in errors if is_tls_error(e)]
        if untrusted:
            raise KafkaAccessError(
                f"TLS with Kafka at {describe(kafka)} failed: {untrusted[0].str()}. "
                "Check ORBITSTREAM_KAFKA__SSL_CA_LOCATION."
            )
        if time.monotonic() >= deadline:
            seen = "; ".join(dict.fromkeys(e.str() for e in errors)) or last
            raise KafkaAccessError(f"Kafka at {describe(kafka)} did not answer within {timeout:.0f}s: {seen}")
