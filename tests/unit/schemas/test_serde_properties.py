"""Property-based tests of the decoder: whatever bytes arrive, a record or a named error.

Valid records are written by Apache Avro's own Python implementation (the ``avro``
package) with the single-object header built from the Avro specification, so the
decoder is checked against another implementation, not against our encoder.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import avro.io
import avro.schema
import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.catalog import SchemaCatalog, crc64_fingerprint
from schemas.exceptions import DeserializationError
from schemas.identity import IdentityProvider
from schemas.models import IdentityLink
from schemas.serde import AvroSerde

CATALOG = SchemaCatalog.load()
SERDE = AvroSerde(CATALOG)
LINK = "orbitstream.identity.IdentityLink"
LINK_RAW = CATALOG.raw(LINK)
LINK_SCHEMA = avro.schema.parse(json.dumps(LINK_RAW))
# The header as this contract writes it (the spec's, since the byte-order fix).
LINK_FP = CATALOG.fingerprint(LINK)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PROVIDERS = [p.value for p in IdentityProvider]


def crc64_avro(data: bytes) -> int:
    """The Avro specification's reference fingerprint algorithm ("Schema Fingerprints")."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def spec_fingerprint(raw: dict[str, Any]) -> bytes:
    """Avro spec, "Single-object encoding": the 8-byte little-endian CRC-64-AVRO
    fingerprint of the schema's Parsing Canonical Form (fastavro's canonical form: Apache
    Avro's Python package keeps ``{"type": "long"}`` for timestamp fields, against the
    spec's [PRIMITIVES] rule)."""
    return crc64_avro(to_parsing_canonical_form(raw).encode()).to_bytes(8, "little")


def reference_single_object(schema: avro.schema.Schema, datum: dict[str, Any], fingerprint: bytes) -> bytes:
    """C3 01, ``fingerprint``, then the datum as Apache Avro binary-encodes it."""
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(buf))
    return b"\xc3\x01" + fingerprint + buf.getvalue()


millis = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 .. 2100
identities = st.fixed_dictionaries({"provider": st.sampled_from(PROVIDERS), "external_id": st.text()})
links = st.fixed_dictionaries(
    {
        "event_id": st.text(),
        "occurred_at": millis,
        "sent_at": st.none() | millis,
        "source": st.text(),
        "identity": identities,
        "canonical_id": st.none() | st.text(),
        "linked_identity": identities,
    }
)


def avro_datum(link: dict[str, Any]) -> dict[str, Any]:
    """The record as Apache Avro takes it: timestamp-millis as datetimes."""
    datum = dict(link)
    for name in ("occurred_at", "sent_at"):
        if datum[name] is not None:
            datum[name] = EPOCH + timedelta(milliseconds=datum[name])
    return datum


def test_spec_fingerprint_agrees_with_apache_avro_and_fastavro() -> None:
    """The spec algorithm above, checked on a schema without logical types."""
    raw = {"type": "record", "name": "A", "fields": [{"name": "x", "type": "string"}]}
    expected = spec_fingerprint(raw)
    assert expected == avro.schema.parse(json.dumps(raw)).fingerprint("CRC-64-AVRO")
    assert expected == bytes.fromhex(fastavro_fingerprint(to_parsing_canonical_form(raw), "CRC-64-AVRO"))


def test_catalog_fingerprint_is_the_spec_single_object_fingerprint() -> None:
    assert CATALOG.fingerprint(LINK) == spec_fingerprint(LINK_RAW)


def _a_link() -> dict[str, Any]:
    identity = {"provider": "email", "external_id": "a@example.com"}
    return {
        "event_id": "e1",
        "occurred_at": 1_700_000_000_000,
        "sent_at": None,
        "source": "sso",
        "identity": identity,
        "canonical_id": None,
        "linked_identity": {"provider": "github", "external_id": "octo"},
    }


@given(links)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_records_written_by_apache_avro_decode_to_the_same_values(link: dict[str, Any]) -> None:
    decoded = SERDE.decode(
        reference_single_object(LINK_SCHEMA, avro_datum(link), LINK_FP), topic="identity-links"
    )
    assert isinstance(decoded, IdentityLink)
    assert decoded.event_id == link["event_id"]
    assert decoded.occurred_at == EPOCH + timedelta(milliseconds=link["occurred_at"])
    sent = link["sent_at"]
    assert decoded.sent_at == (None if sent is None else EPOCH + timedelta(milliseconds=sent))
    assert decoded.source == link["source"]
    assert (decoded.identity.provider.value, decoded.identity.external_id) == (
        link["identity"]["provider"],
        link["identity"]["external_id"],
    )
    assert decoded.canonical_id == link["canonical_id"]
    assert decoded.linked_identity.external_id == link["linked_identity"]["external_id"]


def _assert_named_failure(data: bytes, offset: int) -> DeserializationError:
    with pytest.raises(DeserializationError) as caught:
        SERDE.decode(data, topic="product-events", partition=3, offset=offset)
    err = caught.value
    assert (err.topic, err.partition, err.offset) == ("product-events", 3, offset)
    assert str(err).startswith(f"product-events[3]@{offset}: ")
    assert err.reason
    return err


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=10**12))
@settings(max_examples=500)
def test_arbitrary_bytes_decode_or_fail_with_a_named_error(data: bytes, offset: int) -> None:
    try:
        SERDE.decode(data, topic="product-events", partition=3, offset=offset)
    except DeserializationError as err:
        assert (err.topic, err.partition, err.offset) == ("product-events", 3, offset)
        assert err.reason


@given(links, st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_every_truncation_of_a_valid_record_fails_with_a_named_error(link: dict[str, Any], data: Any) -> None:
    encoded = reference_single_object(LINK_SCHEMA, avro_datum(link), LINK_FP)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1), label="cut")
    err = _assert_named_failure(encoded[:cut], offset=cut)
    if cut == 0:
        assert "empty value" in err.reason
    elif cut < 10:
        assert "header truncated" in err.reason or "unknown encoding" in err.reason
    else:
        assert "IdentityLink body does not decode" in err.reason


@given(links, st.binary(min_size=1, max_size=20))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_trailing_bytes_after_a_valid_record_are_refused(link: dict[str, Any], tail: bytes) -> None:
    encoded = reference_single_object(LINK_SCHEMA, avro_datum(link), LINK_FP)
    err = _assert_named_failure(encoded + tail, offset=1)
    assert f"{len(tail)} trailing bytes" in err.reason


@given(st.binary(min_size=8, max_size=8), st.binary(max_size=50))
def test_an_unknown_record_type_is_refused_naming_its_fingerprint(fingerprint: bytes, body: bytes) -> None:
    if CATALOG.by_fingerprint(fingerprint) is not None:
        return  # a known schema's fingerprint: covered by the tests above
    err = _assert_named_failure(b"\xc3\x01" + fingerprint + body, offset=9)
    assert err.reason == f"unknown schema fingerprint {fingerprint.hex()} (not in schemas/)"


def test_an_identity_provider_outside_the_contract_is_refused() -> None:
    """The provider enum has five symbols; a record whose provider index is past them
    (a producer on a newer contract, or corruption) does not decode."""
    writer = json.loads(json.dumps(CATALOG.raw(LINK)))
    writer["fields"][4]["type"]["fields"][0]["type"]["symbols"].append("myspace")
    newer = avro.schema.parse(json.dumps(writer))
    link = _a_link() | {"identity": {"provider": "myspace", "external_id": "tom"}}
    encoded = reference_single_object(newer, avro_datum(link), crc64_fingerprint(writer))
    # Unknown to this contract: its schema is not in the catalog.
    err = _assert_named_failure(encoded, offset=5)
    assert "unknown schema fingerprint" in err.reason
    # The same body under the known schema's header: the enum index is out of range.
    known = b"\xc3\x01" + CATALOG.fingerprint(LINK) + encoded[10:]
    err = _assert_named_failure(known, offset=6)
    assert err.reason.startswith("orbitstream.identity.IdentityLink body does not decode")
