"""Security settings and the pure parts around them: SASL checks, SCRAM broker properties,
the warehouse's credential rules, and settings errors that never echo secrets."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from foundation.kafka_access import faust_auth
from foundation.settings import KafkaSettings, PrivacySettings, Settings, validation_summary
from infra.kafka.config import (
    TEMPLATE,
    parse_properties,
    render_properties,
    scram_format_arguments,
    scram_properties,
)
from infra.warehouse.auth import AUTHENTICATION_FAILED, REQUIRED_PASSWORD, AuthError, UserCheck, credentials

SECRET = "pa55-Secret-xyz"


def test_a_sasl_protocol_without_its_credentials_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(ValidationError) as raised:
        KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256", sasl_username="svc")
    assert "security_protocol SASL_PLAINTEXT needs sasl_password" in str(raised.value)


def test_a_settings_error_names_the_variable_but_not_the_values_given() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(kafka={"security_protocol": "SASL_SSL", "sasl_username": "svc", "sasl_password": SECRET})
    summary = validation_summary(raised.value)
    assert summary.startswith("ORBITSTREAM_KAFKA: ")
    assert "needs sasl_mechanism" in summary
    assert SECRET not in summary


def test_a_short_pseudonymisation_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        PrivacySettings(pseudonymisation_key="short")


def test_faust_gets_the_same_scram_credentials_as_librdkafka() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password=SECRET,
    )
    creds = faust_auth(kafka)["broker_credentials"]
    librdkafka = kafka.confluent_config()
    assert (creds.protocol.value, creds.mechanism.value, creds.username, creds.password) == (
        librdkafka["security.protocol"],
        librdkafka["sasl.mechanism"],
        librdkafka["sasl.username"],
        librdkafka["sasl.password"],
    )
    assert SECRET not in repr(creds) and SECRET not in repr(kafka)
    assert faust_auth(KafkaSettings()) == {}


def test_a_scram_broker_has_a_sasl_client_listener_taking_both_mechanisms() -> None:
    text = render_properties(TEMPLATE.read_text(), port=9001, controller_port=9002, log_dir=Path("/d"))
    props = parse_properties(scram_properties(text, {"svc": "pw1", "other": "pw2"}))
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9002"
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:9001"
    assert props["listener.security.protocol.map"] == "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-256,SCRAM-SHA-512"
    assert props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="svc" password="pw1";'
    )
    assert scram_format_arguments({"svc": "pw1"}) == [
        "--add-scram",
        "SCRAM-SHA-256=[name=svc,password=pw1]",
        "--add-scram",
        "SCRAM-SHA-512=[name=svc,password=pw1]",
    ]


def test_a_scram_password_the_broker_config_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        scram_properties("listeners=PLAINTEXT://h:1\nadvertised.listeners=PLAINTEXT://h:1\n", {"svc": 'a"b'})


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials_come_from_exactly_one_method() -> None:
    assert credentials({"x-clickhouse-user": "u", "X-ClickHouse-Key": "k"}, {}).password == "k"
    assert credentials({"Authorization": _basic("u", "p:with:colons")}, {}).password == "p:with:colons"
    assert credentials({}, {"user": "u", "password": "p"}).user == "u"
    assert credentials({}, {}) == type(credentials({}, {}))("default", "", False)
    with pytest.raises(AuthError, match="X-ClickHouse HTTP headers and Authorization HTTP header"):
        credentials({"X-ClickHouse-User": "u", "Authorization": _basic("u", "p")}, {})
    with pytest.raises(AuthError, match="'Bearer' HTTP Authorization scheme is not supported"):
        credentials({"Authorization": "Bearer abc"}, {})


def test_a_refusal_never_holds_the_password_given() -> None:
    check = UserCheck("u", SECRET)
    with pytest.raises(AuthError) as wrong:
        check.authenticate({"Authorization": _basic("u", SECRET + "x")}, {})
    assert wrong.value.code == AUTHENTICATION_FAILED and SECRET not in str(wrong.value)
    with pytest.raises(AuthError) as missing:
        check.authenticate({}, {})
    assert missing.value.code == REQUIRED_PASSWORD
    assert check.authenticate({"X-ClickHouse-User": "u", "X-ClickHouse-Key": SECRET}, {}) == "u"


def test_warehouse_credentials_and_tls_reach_clickhouse_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    import clickhouse_connect

    from foundation.settings import WarehouseSettings
    from foundation.warehouse_access import warehouse_client

    seen: dict[str, object] = {}
    monkeypatch.setattr(clickhouse_connect, "get_client", lambda **kwargs: seen.update(kwargs))
    warehouse_client(
        WarehouseSettings(
            host="ch.internal", username="loader", password=SECRET, secure=True, ca_cert=Path("/etc/ca.pem")
        )
    )
    assert {k: seen[k] for k in ("host", "username", "password", "secure", "verify", "ca_cert")} == {
        "host": "ch.internal",
        "username": "loader",
        "password": SECRET,
        "secure": True,
        "verify": True,
        "ca_cert": "/etc/ca.pem",
    }
