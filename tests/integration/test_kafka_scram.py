"""Refused credentials fail fast and say why, from the SDK and from every command, without secrets.

The broker takes SCRAM logins only (tests/fixtures/security.py). A wrong password must
end each client within a bound (here: the subprocess timeout or the future's), with a
message naming the servers, mechanism and user, never a password; nothing any process
prints or logs may hold a configured secret.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from foundation.kafka_access import KafkaAuthenticationError, check_access
from foundation.settings import Settings, to_environment
from producers.exceptions import DeliveryError
from producers.sdk import EventProducer
from tests.fixtures import events as ev
from tests.fixtures.security import REGISTRY_AUTH, SASL_USER, SECRETS, secured_settings

pytestmark = pytest.mark.integration

WRONG = "wrong-Pa55-for-test-0b7e"
# Each command must give up well before this; librdkafka alone would retry for as long as it runs.
COMMAND_BOUND_S = 90


def _wrong_password(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"sasl_password": SecretStr(WRONG)})}
    )


@pytest.fixture
def settings(scram_kafka: str, secured_warehouse: Any) -> Settings:
    return secured_settings(
        scram_kafka, secured_warehouse.port, "default", producer={"delivery_timeout_ms": 600_000}
    )


def _run(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **to_environment(settings)}
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, capture_output=True, text=True, timeout=COMMAND_BOUND_S
    )


def _assert_no_secret(*texts: str) -> None:
    leaks = [s for s in (*SECRETS, WRONG) for text in texts if s in text]
    assert leaks == []


def _assert_names_the_refusal(text: str, settings: Settings) -> None:
    assert "refused the credentials" in text
    assert (
        f"user '{SASL_USER}'" in text and "SCRAM-SHA-512" in text and settings.kafka.bootstrap_servers in text
    )


def test_the_right_password_is_accepted_and_a_wrong_one_refused(settings) -> None:
    check_access(settings.kafka)
    with pytest.raises(KafkaAuthenticationError) as raised:
        check_access(_wrong_password(settings).kafka)
    _assert_names_the_refusal(str(raised.value), settings)
    _assert_no_secret(str(raised.value))


def test_the_sdk_fails_queued_and_new_events_with_the_refusal_instead_of_waiting(settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = _wrong_password(settings)
    producer = EventProducer(wrong, source="tests")
    future = producer.send(
        ev.make("FeatureUsed", ev.product("u-1"), ev.at(0), feature="f", is_key_feature=False)
    )
    # The delivery timeout is ten minutes: only the refusal can end this within the bound.
    with pytest.raises(DeliveryError) as raised:
        future.result(timeout=COMMAND_BOUND_S)
    _assert_names_the_refusal(str(raised.value), settings)
    with pytest.raises(DeliveryError, match="refused the credentials"):
        producer.send(ev.make("FeatureUsed", ev.product("u-1"), ev.at(1), feature="f", is_key_feature=False))
    with pytest.raises(DeliveryError, match="refused the credentials"):
        producer.close()
    _assert_no_secret(str(raised.value), caplog.text)


@pytest.mark.parametrize(
    "args",
    [
        ["orbitstream", "produce", "--users", "2", "--days", "1"],
        ["orbitstream", "sink", "run", "--no-migrate"],
        ["orbitstream", "topics", "create"],
        ["orbitstream", "worker"],
    ],
    ids=["produce", "sink", "topics", "worker"],
)
def test_every_command_ends_with_one_clear_line_on_a_wrong_password(settings, args) -> None:
    done = _run(args, _wrong_password(settings))
    assert done.returncode != 0
    _assert_names_the_refusal(done.stderr, settings)
    assert "Traceback" not in done.stderr
    _assert_no_secret(done.stdout, done.stderr)


def test_a_wrong_warehouse_password_fails_the_sink_with_516_and_no_secret(settings) -> None:
    wrong = settings.model_copy(
        update={"warehouse": settings.warehouse.model_copy(update={"password": SecretStr(WRONG)})}
    )
    done = _run(["orbitstream", "sink", "run"], wrong)
    assert done.returncode != 0
    assert "516" in done.stderr and "AUTHENTICATION_FAILED" in done.stderr
    _assert_no_secret(done.stdout, done.stderr)


def test_the_warehouse_logs_a_refusal_with_the_user_but_no_password(settings, secured_warehouse) -> None:
    test_a_wrong_warehouse_password_fails_the_sink_with_516_and_no_secret(settings)
    log = (secured_warehouse.data_dir / "warehouse.log").read_text(errors="replace")
    assert f"{settings.warehouse.username}: Authentication failed" in log
    _assert_no_secret(log)


class _RefusingRegistry(BaseHTTPRequestHandler):
    """A schema registry that refuses every request as Confluent's does (401, error 40101)."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._refuse()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._refuse()

    def _refuse(self) -> None:
        body = json.dumps({"error_code": 40101, "message": "Unauthorized"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def refusing_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_refused_registry_login_names_no_credentials(settings, refusing_registry, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with_registry = settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(
                update={
                    "schema_registry_url": refusing_registry,
                    "schema_registry_basic_auth": SecretStr(REGISTRY_AUTH),
                }
            )
        }
    )
    with EventProducer(with_registry, source="tests") as producer, pytest.raises(Exception) as raised:
        producer.send(ev.make("FeatureUsed", ev.product("u-1"), ev.at(0), feature="f", is_key_feature=False))
    text = f"{raised.value!r} {raised.value} {raised.value.__cause__!r}"
    assert "401" in text or "Unauthorized" in text
    _assert_no_secret(text, caplog.text)
