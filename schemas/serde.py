"""Avro serde for Kafka values: Confluent wire format with a registry, single-object without.

- Registry configured: Confluent wire format (0x00 + 4-byte schema id + body) through
  confluent-kafka's SchemaRegistryClient and AvroSerializer. Several record types share
  a topic, so subjects follow TopicRecordNameStrategy (``<topic>-<record full name>``).
- No registry (the embedded default): Avro single-object encoding from the Avro spec
  (0xC3 0x01 + 8-byte little-endian CRC-64-AVRO fingerprint + body), with writer schemas
  found in the catalog (current and released versions). While
  ``accept_reversed_fingerprints`` is on, a header with the fingerprint's bytes reversed
  (what orbitstream wrote before it followed the spec) is read too.

``decode`` reads both, resolving the writer's schema against the current schema of that
record (so v1 data is read by a v2 reader), and rejects anything else with a
:class:`DeserializationError` naming topic, partition, offset and what was wrong.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from pydantic import ValidationError

from foundation.settings import KafkaSettings
from schemas.catalog import SchemaCatalog, full_name
from schemas.exceptions import DeserializationError, SerializationError
from schemas.models import AvroModel, model_for

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
WIRE_MAGIC = 0
_WIRE_HEADER = struct.Struct(">bI")


def _validation_summary(exc: ValidationError) -> str:
    return "; ".join(f"field {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


class AvroSerde:
    """Encodes models to Kafka values and decodes values back to models."""

    def __init__(
        self,
        catalog: SchemaCatalog,
        registry: Any | None = None,
        *,
        accept_reversed_fingerprints: bool = True,
    ) -> None:
        self.catalog = catalog
        self.registry = registry
        # Transition: earlier versions wrote the fingerprint's bytes in reverse order.
        self.accept_reversed_fingerprints = accept_reversed_fingerprints
        self._serializers: dict[str, Any] = {}
        self._registry_writers: dict[int, tuple[str, Any]] = {}

    # -- encoding ---------------------------------------------------------------------
    def encode(self, model: AvroModel, topic: str) -> bytes:
        name = model.avro_name
        try:
            if self.registry is not None:
                return self._encode_registry(model, topic)
            return self.encode_avro(name, model.to_avro(), topic)
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(f"cannot encode {name} for topic {topic}: {exc}") from exc

    def _encode_registry(self, model: AvroModel, topic: str) -> bytes:
        from confluent_kafka.schema_registry import topic_record_subject_name_strategy
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        serializer = self._serializers.get(model.avro_name)
        if serializer is None:
            serializer = AvroSerializer(
                self.registry,
                json.dumps(self.catalog.raw(model.avro_name)),
                to_dict=lambda obj, _ctx: obj.to_avro(),
                conf={
                    "auto.register.schemas": True,
                    "subject.name.strategy": topic_record_subject_name_strategy,
                },
            )
            self._serializers[model.avro_name] = serializer
        data: bytes = serializer(model, SerializationContext(topic, MessageField.VALUE))
        return data

    # -- decoding ---------------------------------------------------------------------
    def decode(self, data: bytes | None, *, topic: str, partition: int = -1, offset: int = -1) -> AvroModel:
        name, record = self.decode_avro(data, topic=topic, partition=partition, offset=offset)
        try:
            return model_for(name).from_avro(record)
        except ValidationError as exc:
            raise DeserializationError(
                f"{name} is invalid: {_validation_summary(exc)}",
                topic=topic,
                partition=partition,
                offset=offset,
            ) from exc

    def decode_avro(
        self, data: bytes | None, *, topic: str, partition: int = -1, offset: int = -1
    ) -> tuple[str, dict[str, Any]]:
        """The record's full name and its fields as fastavro reads them (no model).

        For hot paths that only route a record: Avro's own checks (types, enum symbols,
        lengths) hold, the model's (aware timestamps and the like) are left to whoever
        builds the model.
        """

        def fail(reason: str) -> DeserializationError:
            return DeserializationError(reason, topic=topic, partition=partition, offset=offset)

        if not data:
            raise fail("empty value (null or zero bytes), expected an Avro record")
        if data[:2] == SINGLE_OBJECT_MAGIC:
            if len(data) < 10:
                raise fail(f"single-object header truncated ({len(data)} bytes)")
            writer = self.catalog.by_fingerprint(data[2:10])
            if writer is None and self.accept_reversed_fingerprints:
                writer = self.catalog.by_fingerprint(data[9:1:-1])
            if writer is None:
                raise fail(f"unknown schema fingerprint {data[2:10].hex()} (not in schemas/)")
            name, writer_schema, body = writer.name, writer.parsed, data[10:]
        elif data[0] == WIRE_MAGIC:
            if len(data) < 5:
                raise fail(f"Confluent wire-format header truncated ({len(data)} bytes)")
            _, schema_id = _WIRE_HEADER.unpack(data[:5])
            name, writer_schema = self._registry_writer(schema_id, fail)
            body = data[5:]
        else:
            raise fail(
                f"unknown encoding: first bytes {data[:2].hex()} are neither Avro single-object "
                "(c301) nor Confluent wire format (00)"
            )
        try:
            reader = self.catalog.parsed(name)
        except Exception as exc:
            raise fail(f"record {name} is not part of this contract") from exc
        # Written with the current schema (the usual case): plain reading, no resolution pass.
        if reader is writer_schema:
            reader = None
        buf = io.BytesIO(body)
        try:
            record = schemaless_reader(buf, writer_schema, reader)
        except Exception as exc:
            raise fail(f"{name} body does not decode: {type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(body):
            raise fail(f"{name} body has {len(body) - buf.tell()} trailing bytes")
        if not isinstance(record, dict):
            raise fail(f"{name} decoded to {type(record).__name__}, not a record")
        return name, record

    def encode_flat(self, model: AvroModel, topic: str) -> bytes:
        """:meth:`encode` for a record whose fields are all primitives and timestamps (no
        enums, no nested records): its fields are already fastavro's dict, so the
        conversion pass is skipped (13 instead of 32 us for a score update)."""
        if self.registry is not None:
            return self.encode(model, topic)
        try:
            return self.encode_avro(model.avro_name, model.__dict__, topic)
        except Exception as exc:
            raise SerializationError(f"cannot encode {model.avro_name} for topic {topic}: {exc}") from exc

    def encode_avro(self, name: str, record: dict[str, Any], topic: str) -> bytes:
        """The value for a record given as fastavro's dict (the current schema's shape)."""
        if self.registry is not None:
            return self.encode(model_for(name).from_avro(record), topic)
        entry = self.catalog.schema(name)
        buf = io.BytesIO()
        buf.write(SINGLE_OBJECT_MAGIC)
        buf.write(entry.fingerprint)
        schemaless_writer(buf, entry.parsed, record)
        return buf.getvalue()

    def _registry_writer(self, schema_id: int, fail: Any) -> tuple[str, Any]:
        cached = self._registry_writers.get(schema_id)
        if cached is not None:
            return cached
        if self.registry is None:
            raise fail(f"Confluent wire format (schema id {schema_id}) but no schema registry is configured")
        try:
            schema = self.registry.get_schema(schema_id)
            raw = json.loads(schema.schema_str)
        except Exception as exc:
            raise fail(f"schema id {schema_id} not found in the registry: {exc}") from exc
        entry = (full_name(raw), parse_schema(raw, _force=True))
        self._registry_writers[schema_id] = entry
        return entry


def serde_from_settings(kafka: KafkaSettings, catalog: SchemaCatalog) -> AvroSerde:
    """Registry serde when a registry URL is configured, single-object encoding otherwise."""
    reversed_ok = kafka.accept_reversed_fingerprints
    if not kafka.schema_registry_url:
        return AvroSerde(catalog, accept_reversed_fingerprints=reversed_ok)
    from confluent_kafka.schema_registry import SchemaRegistryClient

    conf: dict[str, str] = {"url": kafka.schema_registry_url}
    if kafka.schema_registry_basic_auth is not None:
        conf["basic.auth.user.info"] = kafka.schema_registry_basic_auth.get_secret_value()
    # new_client gives the in-memory mock for mock:// URLs (tests), the HTTP client otherwise.
    return AvroSerde(catalog, SchemaRegistryClient.new_client(conf), accept_reversed_fingerprints=reversed_ok)
