"""Models agree with the .avsc contract; both encodings round-trip; bad bytes are named."""

from __future__ import annotations

import io
import struct
import typing
from datetime import UTC, datetime
from enum import Enum

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import schemaless_reader, schemaless_writer

from schemas import models
from schemas.catalog import SchemaCatalog
from schemas.codegen import TARGET, render
from schemas.exceptions import DeserializationError, SerializationError
from schemas.serde import AvroSerde
from tests.fixtures.events import sample_instance

CATALOG = SchemaCatalog.load()
AT = datetime(2026, 3, 2, 9, 30, 15, 123000, tzinfo=UTC)


def test_generated_models_are_up_to_date_with_the_avsc_files() -> None:
    # Formatting aside (ruff formats the file), the generator's output is the module.
    import subprocess
    import sys

    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=render().encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert formatted == TARGET.read_text(), "run `python -m schemas.codegen` after changing schemas/avro"


@pytest.mark.parametrize("model", models.ALL_MODELS, ids=lambda m: m.__name__)
def test_every_model_matches_its_schema_field_for_field(model: type[models.AvroModel]) -> None:
    raw = CATALOG.raw(model.avro_name)
    assert [f["name"] for f in raw["fields"]] == list(model.model_fields)
    for field in raw["fields"]:
        info = model.model_fields[field["name"]]
        if "default" in field:
            assert not info.is_required(), f"{field['name']} has a default in the schema"
        else:
            assert info.is_required(), f"{field['name']} is required in the schema"
        optional = isinstance(field["type"], list) and "null" in field["type"]
        assert (type(None) in typing.get_args(info.annotation)) == optional, field["name"]


@pytest.mark.parametrize("model", models.ALL_MODELS, ids=lambda m: m.__name__)
def test_every_model_round_trips_through_fastavro(model: type[models.AvroModel]) -> None:
    instance = sample_instance(model)
    buf = io.BytesIO()
    schemaless_writer(buf, CATALOG.parsed(model.avro_name), instance.to_avro())
    buf.seek(0)
    record = schemaless_reader(buf, CATALOG.parsed(model.avro_name), CATALOG.parsed(model.avro_name))
    assert model.from_avro(record) == instance


def _event() -> models.FeatureUsed:
    return models.FeatureUsed(
        event_id="e-1",
        occurred_at=AT,
        source="web",
        identity=models.Identity(provider=models.IdentityProvider.PRODUCT, external_id="u1"),
        payload=models.FeatureUsedPayload(feature="exports", is_key_feature=True),
    )


def test_single_object_encoding_layout() -> None:
    data = AvroSerde(CATALOG).encode(_event(), "product-events")
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == CATALOG.fingerprint("orbitstream.product.FeatureUsed")
    assert AvroSerde(CATALOG).decode(data, topic="product-events") == _event()


def test_registry_wire_format_with_the_mock_registry() -> None:
    registry = SchemaRegistryClient.new_client({"url": "mock://models-test"})
    serde = AvroSerde(CATALOG, registry)
    data = serde.encode(_event(), "product-events")
    magic, schema_id = struct.unpack(">bI", data[:5])
    assert magic == 0 and schema_id >= 1
    assert registry.get_subjects() == ["product-events-orbitstream.product.FeatureUsed"]
    assert serde.decode(data, topic="product-events") == _event()
    # A reader with the registry also reads single-object data; one without refuses wire format clearly.
    assert serde.decode(AvroSerde(CATALOG).encode(_event(), "t"), topic="t") == _event()
    with pytest.raises(DeserializationError, match="no schema registry is configured"):
        AvroSerde(CATALOG).decode(data, topic="product-events", partition=0, offset=9)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "empty value"),
        (b"", "empty value"),
        (b"\xc3\x01\x01\x02", "single-object header truncated"),
        (b"\xc3\x01" + b"\x00" * 8 + b"\x02", "unknown schema fingerprint 0000000000000000"),
        (b'{"json": true}', "unknown encoding: first bytes 7b22"),
        (b"\x00\x00\x00", "wire-format header truncated"),
    ],
)
def test_bad_bytes_are_rejected_naming_topic_partition_offset(data: bytes | None, reason: str) -> None:
    with pytest.raises(DeserializationError) as info:
        AvroSerde(CATALOG).decode(data, topic="product-events", partition=3, offset=17)
    assert str(info.value).startswith("product-events[3]@17: ")
    assert reason in info.value.reason
    assert (info.value.topic, info.value.partition, info.value.offset) == ("product-events", 3, 17)


def test_truncated_body_and_trailing_bytes_are_rejected() -> None:
    good = AvroSerde(CATALOG).encode(_event(), "t")
    with pytest.raises(DeserializationError, match="FeatureUsed body does not decode"):
        AvroSerde(CATALOG).decode(good[:-3], topic="t")
    with pytest.raises(DeserializationError, match="1 trailing bytes"):
        AvroSerde(CATALOG).decode(good + b"\x00", topic="t")


def test_encoding_failure_names_the_record() -> None:
    broken = _event().model_copy(update={"source": None})  # bypasses validation on purpose
    with pytest.raises(SerializationError, match="cannot encode orbitstream.product.FeatureUsed for topic t"):
        AvroSerde(CATALOG).encode(broken, "t")


def test_naive_timestamps_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="occurred_at"):
        models.FeatureUsed(
            event_id="e",
            occurred_at=datetime(2026, 1, 1),  # noqa: DTZ001 - the point of the test
            source="s",
            identity=models.Identity(provider=models.IdentityProvider.EMAIL, external_id="a@b.c"),
            payload=models.FeatureUsedPayload(feature="f"),
        )


def test_flat_encoding_of_a_score_update_is_byte_for_byte_the_full_one() -> None:
    serde = AvroSerde(SchemaCatalog.load())
    update = sample_instance(models.EngagementScoreUpdate)
    # Flat: nothing the full encoder would convert (no enums, records or lists of them).
    for name, field in models.EngagementScoreUpdate.model_fields.items():
        assert typing.get_origin(field.annotation) is not list, name
        assert not isinstance(getattr(update, name), models.AvroModel | Enum), name
    assert serde.encode_flat(update, "s") == serde.encode(update, "s")
    assert serde.decode(serde.encode_flat(update, "s"), topic="s") == update
