"""Pseudonymisation before the warehouse: identity columns, payloads, free text, dead letters."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import pytest

from schemas.catalog import SchemaCatalog
from schemas.identity import ORBITSTREAM_NAMESPACE, deterministic_canonical_id
from schemas.pseudonyms import Pseudonymiser, plain_deterministic_id
from schemas.serde import AvroSerde
from sinks.columnar import row_values
from sinks.privacy import DeadLetterSeal, RowPrivacy
from sinks.routing import KafkaRecord, Router
from sinks.rows import COLUMNS
from tests.unit.sinks import samples

KEY = b"k" * 32
SERDE = AvroSerde(SchemaCatalog.load())
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
DLQ = "p-dead-letters"


def _hmac_hex(text: str, key: bytes = KEY) -> str:
    return "pn1:" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _router() -> Router:
    privacy = RowPrivacy(Pseudonymiser(KEY), DeadLetterSeal(KEY))
    return Router(SERDE, DLQ, clock=lambda: NOW, privacy=privacy)


def _texts(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else json.dumps(value, default=str)


def test_a_pseudonym_is_the_keyed_hmac_of_the_normalised_identity() -> None:
    p = Pseudonymiser(KEY)
    assert p.pseudonym("email", "  Ada@Example.COM ") == _hmac_hex("email:ada@example.com")
    assert p.pseudonym("github", "Bob") == _hmac_hex("github:bob")
    assert Pseudonymiser(b"another key, 16+ bytes").pseudonym("email", "ada@example.com") != p.pseudonym(
        "email", "ada@example.com"
    )


def test_product_ids_pass_through_and_other_providers_are_pseudonymised() -> None:
    p = Pseudonymiser(KEY)
    assert p.identity("product", "ada-7") == "ada-7"
    assert p.identity("sso", "okta|00u1") == _hmac_hex("sso:okta|00u1")
    # Discourse usernames are case-insensitive (schemas/identity.py): normalised first.
    assert p.identity("discourse", "Ada_F") == _hmac_hex("discourse:ada_f")
    assert p.identity("myspace", "Ada_F") == _hmac_hex("myspace:Ada_F")  # a provider not known here


def test_emails_in_free_text_become_their_pseudonyms() -> None:
    p = Pseudonymiser(KEY)
    text = "reply to Ada@Example.com, cc bob.smith+x@mail.example.org."
    ada, bob = _hmac_hex("email:ada@example.com"), _hmac_hex("email:bob.smith+x@mail.example.org")
    assert p.text(text) == f"reply to {ada}, cc {bob}."


def test_the_deterministic_id_of_a_pseudonymised_identity_is_derived_from_its_pseudonym() -> None:
    p = Pseudonymiser(KEY)
    key = "email:ada@example.com"
    assert p.deterministic_id(key) == str(uuid.uuid5(ORBITSTREAM_NAMESPACE, _hmac_hex(key)))
    assert p.deterministic_id(key) != deterministic_canonical_id("email", "ada@example.com")
    assert p.deterministic_id("product:ada-7") == plain_deterministic_id("product:ada-7")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymiser(b"short")


@pytest.mark.parametrize("record", [*samples.community_events(), samples.link()], ids=lambda r: r.avro_name)
def test_no_identity_value_of_a_community_event_or_link_reaches_a_row(record) -> None:
    topic = "p-community-events"
    table, values = _router().route_values(KafkaRecord(topic, 0, 5, b"k", SERDE.encode(record, topic)))
    row = dict(zip(COLUMNS[table], values, strict=False))
    text = _texts(list(values))
    assert "ada@example.com" not in text
    assert '"bob"' not in text and "github:bob" not in text
    assert row["external_id"] == _hmac_hex("email:ada@example.com") or row["provider"] == "product"
    if table == "identity_links":
        assert row["linked_external_id"] == _hmac_hex("email:ada@example.com")
    if row.get("counterpart_provider") == "github":
        assert row["counterpart_external_id"] == _hmac_hex("github:bob")
        nested = [v for v in json.loads(row["payload"]).values() if isinstance(v, dict)]
        assert nested == [{"external_id": _hmac_hex("github:bob"), "provider": "github"}]


def test_the_model_path_gives_the_same_pseudonyms_as_the_columnar_path() -> None:
    event = samples.community_events()[2]  # a reply: email identity, github counterpart
    topic = "p-community-events"
    fast = _router().route_values(KafkaRecord(topic, 0, 5, b"k", SERDE.encode(event, topic)))
    # route() is the model path (pydantic models, rows.py); route_values took the columnar one.
    plain_router = Router(SERDE, DLQ, clock=lambda: NOW)
    _, model_row = plain_router.route(KafkaRecord(topic, 0, 5, b"k", SERDE.encode(event, topic)))
    slow = (
        "events",
        RowPrivacy(Pseudonymiser(KEY), DeadLetterSeal(KEY)).apply("events", row_values("events", model_row)),
    )
    assert fast == slow


def test_a_dead_letter_keeps_its_bytes_sealed_and_its_error_without_emails() -> None:
    topic = "p-community-events"
    raw_value = b"\x00garbage with ada@example.com inside"
    table, values = _router().route_values(KafkaRecord(topic, 1, 7, b"email:ada@example.com", raw_value))
    row = dict(zip(COLUMNS[table], values, strict=False))
    assert table == "dead_letters"
    assert b"ada@example.com" not in row["key"] and b"ada@example.com" not in row["value"]
    assert "ada@example.com" not in row["error"]
    seal = DeadLetterSeal(KEY)
    assert (seal.open(row["key"]), seal.open(row["value"])) == (b"email:ada@example.com", raw_value)
    with pytest.raises(ValueError, match="does not open"):
        DeadLetterSeal(b"x" * 32).open(row["value"])
