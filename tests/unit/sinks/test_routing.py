"""Messages to rows: records by type, bad bytes to dead letters naming topic/partition/offset."""

from __future__ import annotations

from datetime import UTC, datetime

from foundation.names import DeadLetterHeader
from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde
from sinks.routing import KafkaRecord, Router
from tests.unit.sinks import samples

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
SERDE = AvroSerde(SchemaCatalog.load())


def router() -> Router:
    return Router(SERDE, "p-dead-letters", clock=lambda: NOW)


def test_a_decodable_record_is_routed_by_its_type() -> None:
    score = samples.outputs()[0]
    table, row = router().route(
        KafkaRecord("p-engagement-scores", 1, 9, b"c-ada", SERDE.encode(score, "p-engagement-scores"))
    )
    assert (table, row["update_id"], row["score"]) == ("engagement_scores", "u-300", 7.5)


def test_undecodable_bytes_become_a_sink_dead_letter_with_the_original_bytes() -> None:
    record = KafkaRecord(
        "p-product-by-user", 2, 17, b"key", b"\x00garbage", [(DeadLetterHeader.REPLAY_OF, b"p-x:0:1")]
    )
    table, row = router().route(record)
    assert table == "dead_letters"
    assert row["dead_letter_id"] == "p-product-by-user:2:17:sink"
    assert (row["stage"], row["error_class"]) == ("sink", "DeserializationError")
    assert row["error"].startswith("p-product-by-user[2]@17: ")
    assert (row["key"], row["value"], row["failed_at"], row["replay_of"]) == (
        b"key",
        b"\x00garbage",
        NOW,
        "p-x:0:1",
    )


def test_a_record_the_sink_cannot_load_is_dead_lettered_with_its_position() -> None:
    letter = samples.models.DeadLetter(
        dead_letter_id="x",
        source_topic="t",
        source_partition=0,
        source_offset=1,
        error_class="E",
        error="e",
        stage="s",
        failed_at=samples.T0,
    )
    table, row = router().route(KafkaRecord("p-churn-triggers", 0, 3, None, SERDE.encode(letter, "x")))
    assert (table, row["error_class"]) == ("dead_letters", "UnloadableRecordError")
    assert row["error"] == "p-churn-triggers[0]@3: the sink loads no DeadLetter records"


def test_a_worker_dead_letter_is_keyed_on_its_source_from_the_headers() -> None:
    headers = [
        ("error", b"field identity.external_id: empty"),
        ("error_class", b"DeserializationError"),
        ("source_topic", b"p-product-events"),
        ("source_partition", b"3"),
        ("source_offset", b"120"),
        ("stage", b"resolve-product"),
        ("failed_at", b"1772442000123"),
    ]
    table, row = router().route(KafkaRecord("p-dead-letters", 0, 8, b"k", b"\xc3\x01zz", headers))
    assert table == "dead_letters"
    assert (row["dead_letter_id"], row["stage"], row["error_class"]) == (
        "p-product-events:3:120:resolve-product",
        "resolve-product",
        "DeserializationError",
    )
    assert row["failed_at"] == datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)
    assert (row["kafka_topic"], row["kafka_offset"], row["value"]) == ("p-dead-letters", 8, b"\xc3\x01zz")


def test_a_dead_letter_without_usable_headers_is_kept_under_its_own_position() -> None:
    headers = [("source_topic", b"p-product-events"), ("source_partition", b"x"), ("error", b"boom")]
    _, row = router().route(KafkaRecord("p-dead-letters", 1, 4, None, b"v", headers))
    assert row["dead_letter_id"] == "p-dead-letters:1:4:unknown"
    assert "header source_partition='x' is not an integer" in row["error"]
    assert "header source_offset missing" in row["error"] and row["error"].endswith("error: boom")
    assert (row["stage"], row["failed_at"]) == ("unknown", NOW)


def test_one_message_dead_lettered_by_a_worker_and_by_the_sink_is_two_dead_letters() -> None:
    # A bad message on product-by-user: the activity agent dead-letters it, and the sink,
    # which reads that topic too, fails on the same bytes.
    worker_headers = [
        ("error", b"bad bytes"),
        ("error_class", b"DeserializationError"),
        ("source_topic", b"p-product-by-user"),
        ("source_partition", b"2"),
        ("source_offset", b"17"),
        ("stage", b"user-activity"),
        ("failed_at", b"1772442000123"),
    ]
    _, by_worker = router().route(KafkaRecord("p-dead-letters", 2, 3, b"key", b"\x00garbage", worker_headers))
    _, by_sink = router().route(KafkaRecord("p-product-by-user", 2, 17, b"key", b"\x00garbage"))
    assert (by_worker["dead_letter_id"], by_worker["stage"]) == (
        "p-product-by-user:2:17:user-activity",
        "user-activity",
    )
    assert (by_sink["dead_letter_id"], by_sink["stage"]) == ("p-product-by-user:2:17:sink", "sink")


def test_a_dead_letter_built_by_the_workers_is_read_back_by_the_sink() -> None:
    # Both sides take the header names from foundation/names.py; this pins that they agree.
    from types import SimpleNamespace

    from streams.errors import build_dead_letter

    source = SimpleNamespace(topic="p-community-events", partition=1, offset=33, key=b"k", value=b"\x00bad")
    error = ValueError("field payload.post_id: empty")
    letter = build_dead_letter(source, error, "resolve-community", 1772442000123, 10_000)
    table, row = router().route(KafkaRecord("p-dead-letters", 0, 5, letter.key, letter.value, letter.headers))
    assert table == "dead_letters"
    assert (row["dead_letter_id"], row["stage"], row["error_class"], row["error"]) == (
        "p-community-events:1:33:resolve-community",
        "resolve-community",
        "ValueError",
        "field payload.post_id: empty",
    )
    assert row["failed_at"] == datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)
    assert (row["key"], row["value"]) == (b"k", b"\x00bad")
