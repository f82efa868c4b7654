"""The hot path (Avro straight to column values) against the model path it replaces.

The model path (serde -> pydantic model -> rows.row_for) is the reference: for every
record it loads, the hot path must give the same values; for every record it refuses,
the hot path must hand the message back so the router dead-letters it with the model
path's reason.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

import sinks
from producers.workload import WorkloadConfig, generate
from schemas.catalog import SchemaCatalog
from schemas.serde import SINGLE_OBJECT_MAGIC, AvroSerde
from sinks.columnar import ColumnDecoder, Unloadable, is_time_column, row_values, to_millis
from sinks.routing import KafkaRecord, Router
from sinks.rows import COLUMNS
from tests.unit.sinks import samples

CATALOG = SchemaCatalog.load()
SERDE = AvroSerde(CATALOG)
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def router() -> Router:
    return Router(SERDE, "p-dead-letters", clock=lambda: NOW)


def by_model_path(r: Router, record: KafkaRecord) -> tuple[str, tuple[Any, ...]]:
    table, row = r.route(record)
    return table, row_values(table, row)


def workload_records() -> list[Any]:
    events = list(itertools.islice(generate(WorkloadConfig(users=40, days=20, seed=5)), 600))
    # The sink loads resolved events: give some a canonical id, leave others without.
    return [e.model_copy(update={"canonical_id": f"c-{i}"}) if i % 3 else e for i, e in enumerate(events)]


@pytest.mark.parametrize(
    "records",
    [samples.every_record(), workload_records()],
    ids=["every record type", "generated workload"],
)
def test_the_hot_path_gives_exactly_the_model_paths_values(records: list[Any]) -> None:
    r = router()
    seen_tables = set()
    for offset, record in enumerate(records):
        message = KafkaRecord("p-t", 1, offset, b"k", SERDE.encode(record, "p-t"))
        fast = r.columns.decode(message.value, message.topic, message.partition, message.offset)
        assert fast == by_model_path(r, message), type(record).__name__
        assert r.route_values(message) == fast
        assert len(fast[1]) == len(COLUMNS[fast[0]]) - 1
        seen_tables.add(fast[0])
    if len(records) < 100:
        assert seen_tables == set(COLUMNS) - {"dead_letters"}


def test_times_are_integer_milliseconds_and_the_payload_is_the_models_json() -> None:
    event = samples.community_events()[2]  # ReplyCreated: a nested optional identity
    table, values = router().columns.decode(SERDE.encode(event, "t"), "t", 0, 5)
    row = dict(zip(COLUMNS[table], values, strict=False))
    # samples.T0 + 103 minutes, as the epoch milliseconds Python's own datetime gives.
    expected = round(datetime(2026, 3, 2, 10, 43, 0, 123000, tzinfo=UTC).timestamp() * 1000)
    assert row["occurred_at"] == expected and isinstance(row["occurred_at"], int)
    assert (row["counterpart_provider"], row["counterpart_external_id"]) == ("github", "bob")
    assert json.loads(row["payload"]) == event.payload.model_dump(mode="json")
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("t", 0, 5)


def test_data_written_with_a_released_schema_is_resolved_like_the_model_path() -> None:
    r = router()
    released = [v for vs in CATALOG.released.values() for v in vs]
    assert released
    checked = 0
    for version in released:
        current = next((x for x in samples.every_record() if x.avro_name == version.name), None)
        if current is None:
            continue
        # Write the current record's data with the old schema (fields it lacks dropped).
        old_fields = {f["name"] for f in version.raw["fields"]}
        data = {k: v for k, v in current.to_avro().items() if k in old_fields}
        buf = io.BytesIO()
        buf.write(SINGLE_OBJECT_MAGIC + version.fingerprint)
        schemaless_writer(buf, version.parsed, data)
        message = KafkaRecord("p-t", 0, 1, None, buf.getvalue())
        assert r.columns.decode(message.value, "p-t", 0, 1) == by_model_path(r, message), version.path
        checked += 1
    assert checked >= 5


def _raw_encoded(name: str, record: dict[str, Any]) -> bytes:
    """Encoded without logical types, so any long can stand in a time field."""
    raw = json.loads(json.dumps(CATALOG.raw(name)).replace('"logicalType": "timestamp-millis"', '"x": 1'))
    buf = io.BytesIO()
    buf.write(SINGLE_OBJECT_MAGIC + CATALOG.fingerprint(name))
    schemaless_writer(buf, parse_schema(raw, _force=True), record)
    return buf.getvalue()


def test_what_the_hot_path_refuses_is_dead_lettered_with_the_model_paths_reason() -> None:
    r = router()
    score = samples.outputs()[0]
    good = SERDE.encode(score, "t")
    far = {**score.to_avro(), "as_of": to_millis(datetime(2262, 6, 1, tzinfo=UTC))}
    far = {k: (to_millis(v) if isinstance(v, datetime) else v) for k, v in far.items()}
    bad = {
        "not avro": b"\x00garbage",
        "empty": b"",
        "truncated": good[:-3],
        "trailing bytes": good + b"\x00",
        "unknown fingerprint": SINGLE_OBJECT_MAGIC + b"\x01" * 8 + good[10:],
        "not loaded by the sink": _dead_letter_record(),
        "time out of range": _raw_encoded(score.avro_name, far),
    }
    for offset, (what, value) in enumerate(bad.items()):
        message = KafkaRecord("p-engagement-scores", 3, offset, b"k", value)
        with pytest.raises(Unloadable):
            r.columns.decode(value, message.topic, 3, offset)
        table, values = r.route_values(message)
        expected = by_model_path(r, message)
        assert (table, values) == expected, what
        row = dict(zip(COLUMNS[table], values, strict=False))
        assert row["stage"] == "sink" and row["value"] == value
        assert row["error"].startswith(f"p-engagement-scores[3]@{offset}: "), what
    assert "outside 1970..2262" in row["error"]


def _dead_letter_record() -> bytes:
    from schemas.models import DeadLetter

    letter = DeadLetter(
        dead_letter_id="d", source_topic="t", source_partition=0, source_offset=1, error_class="E",
        error="e", stage="worker", failed_at=NOW,
    )  # fmt: skip
    return SERDE.encode(letter, "t")


def test_the_time_columns_are_the_migrations_datetime64_columns() -> None:
    migrations = Path(sinks.__file__).parent / "migrations"
    sql = "\n".join(p.read_text() for p in sorted(migrations.glob("*.sql")))
    for table, columns in COLUMNS.items():
        body = re.search(rf"CREATE TABLE IF NOT EXISTS \S*{table}\s*\((.*?)\n\)", sql, re.S)
        assert body is not None, table
        declared = {m.group(1) for m in re.finditer(r"^\s*(\w+)\s+[^\n]*DateTime64", body.group(1), re.M)}
        # Columns later migrations add to the table.
        for alter in re.finditer(rf"ALTER TABLE {table}\b(.*?);", sql, re.S):
            declared |= set(re.findall(r"ADD COLUMN IF NOT EXISTS (\w+) [^\n]*DateTime64", alter.group(1)))
        assert {c for c in columns if is_time_column(c)} == declared, table


def test_a_decoder_built_from_the_catalog_loads_every_current_record_type_but_dead_letters() -> None:
    decoder = ColumnDecoder(CATALOG)
    for record in samples.every_record():
        table, _ = decoder.decode(SERDE.encode(record, "t"), "t", 0, 0)
        assert table != "dead_letters"
