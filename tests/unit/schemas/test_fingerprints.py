"""Single-object headers carry the spec's fingerprint bytes, checked against the spec's vectors."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime

import pytest

from foundation.settings import KafkaSettings
from schemas import models
from schemas.catalog import SchemaCatalog, crc64_fingerprint
from schemas.exceptions import DeserializationError
from schemas.serde import AvroSerde, serde_from_settings

CATALOG = SchemaCatalog.load()

# Apache Avro's share/test/data/schema-tests.txt: schema and its 64-bit Rabin fingerprint
# as Java's SchemaNormalization.parsingFingerprint64 returns it (a signed long). The
# single-object header holds that long in little-endian order.
SPEC_VECTORS: list[tuple[str, int]] = [
    ('"null"', 7195948357588979594),
    ('{"type":"null"}', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('"long"', -3434872931120570953),
    ('"float"', 5583340709985441680),
    ('"double"', -8181574048448539266),
    ('"bytes"', 5746618253357095269),
    ('"string"', -8142146995180207161),
    ("[  ]", -1241056759729112623),
    ('[ "int"  ]', -5232228896498058493),
    ('[ "int" , {"type":"boolean"} ]', 5392556393470105090),
    ('{"fields":[], "type":"record", "name":"foo"}', -4824392279771201922),
    ('{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}', 5916914534497305771),
    ('{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}', -4616218487480524110),
    ('{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}', -4824392279771201922),
    (
        '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
        7843277075252814651,
    ),
    # The file's default is the string "true", which fastavro (rightly) refuses for a
    # boolean; the canonical form drops defaults, so a valid one keeps the fingerprint.
    (
        '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true},'
        ' {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo"}',
        -4860222112080293046,
    ),
    ('{"type":"enum", "name":"foo", "symbols":["A1"]}', -6342190197741309591),
    (
        '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
        -4448647247586288245,
    ),
    ('{"name":"foo","type":"fixed","size":15}', 1756455273707447556),
    ('{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}', -3064184465700546786),
    ('{ "items":{"type":"null"}, "type":"array"}', -589620603366471059),
    ('{ "values":"string", "type":"map"}', -8732877298790414990),
    (
        '{"name":"PigValue","type":"record",'
        ' "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
        -1759257747318642341,
    ),
]


@pytest.mark.parametrize(("schema", "expected"), SPEC_VECTORS)
def test_fingerprint_bytes_match_the_avro_test_vectors(schema: str, expected: int) -> None:
    assert crc64_fingerprint(json.loads(schema)) == struct.pack("<q", expected)


def test_the_specs_own_example_null_is_8a8f25cce724dd63() -> None:
    assert crc64_fingerprint("null").hex() == "8a8f25cce724dd63"


_EMPTY = 0xC15D213AA4D7A795  # the spec's EMPTY constant for CRC-64-AVRO


def _spec_crc64(data: bytes) -> int:
    """The fingerprint algorithm exactly as the Avro specification writes it out."""
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def _event() -> models.FeatureUsed:
    return models.FeatureUsed(
        event_id="e-1",
        occurred_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        source="web",
        identity=models.Identity(provider=models.IdentityProvider.PRODUCT, external_id="u1"),
        payload=models.FeatureUsedPayload(feature="exports"),
    )


def test_encoded_header_is_the_spec_algorithm_over_the_canonical_form_little_endian() -> None:
    from fastavro.schema import to_parsing_canonical_form

    name = "orbitstream.product.FeatureUsed"
    canonical = to_parsing_canonical_form(CATALOG.parsed(name))
    data = AvroSerde(CATALOG).encode(_event(), "product-events")
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == struct.pack("<Q", _spec_crc64(canonical.encode()))


def _legacy(data: bytes) -> bytes:
    """The header older orbitstream versions wrote: the fingerprint's bytes reversed."""
    return data[:2] + data[2:10][::-1] + data[10:]


def test_reversed_fingerprints_still_decode_during_the_transition() -> None:
    legacy = _legacy(AvroSerde(CATALOG).encode(_event(), "product-events"))
    assert serde_from_settings(KafkaSettings(), CATALOG).decode(legacy, topic="product-events") == _event()


def test_reversed_fingerprints_are_refused_once_the_transition_is_off() -> None:
    legacy = _legacy(AvroSerde(CATALOG).encode(_event(), "product-events"))
    serde = serde_from_settings(KafkaSettings(accept_reversed_fingerprints=False), CATALOG)
    with pytest.raises(DeserializationError, match=f"unknown schema fingerprint {legacy[2:10].hex()}"):
        serde.decode(legacy, topic="product-events", partition=1, offset=5)
