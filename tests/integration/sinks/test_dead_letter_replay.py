"""Dead letters: bad bytes on a sink input land in ``dead_letters`` with where they came
from; after a fix, replaying them loads each event once; a letter still broken after its
replay becomes a new dead letter that names the one it came from."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from foundation.names import DeadLetterHeader
from foundation.settings import PrivacySettings, Settings
from foundation.topic_admin import ensure_topics
from foundation.warehouse_access import warehouse_client
from orbitstream.commands.sink import sink as sink_cli
from schemas import topics
from schemas.catalog import SCHEMA_ROOT, SchemaCatalog
from schemas.serde import AvroSerde
from sinks.exceptions import ReplayError
from sinks.replay import ReplaySelection, replay_dead_letters, select_dead_letters
from sinks.runner import Sink
from sinks.writer import ClickHouseWriter
from tests.fixtures.streams import read_topic
from tests.integration.sinks.conftest import SERDE, counts, produce, produce_records
from tests.integration.sinks.helpers import consumed, run_until
from tests.unit.sinks import samples

pytestmark = pytest.mark.integration

GARBAGE = b"\xc3\x01\x00\x00\x00\x00\x00\x00\x00\x00garbage"


def serde_without_feature_used(tmp_path: Path) -> AvroSerde:
    """The serde of a sink deployed before FeatureUsed existed: it cannot read those events."""
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMA_ROOT / "avro", root / "avro")
    (root / "avro" / "product" / "feature_used.avsc").unlink()
    return AvroSerde(SchemaCatalog.load(root))


def letters(client: Any) -> list[tuple[Any, ...]]:
    return client.query(
        "SELECT dead_letter_id, stage, error_class, replay_of, replayed_at IS NOT NULL, value "
        "FROM dead_letters_final ORDER BY source_offset",
        column_formats={"value": "bytes"},
    ).result_rows


def test_dead_letters_are_loaded_then_replayed_once_after_a_fix(
    sink_settings: Settings, sink_client: Any, tmp_path: Path
) -> None:
    s = sink_settings
    by_user = s.topics.name("product-by-user")
    used = [samples.product_events()[0].model_copy(update={"event_id": f"used-{i}"}) for i in range(10)]
    sessions = [samples.product_events()[2].model_copy(update={"event_id": f"session-{i}"}) for i in range(5)]
    sent = produce_records(s, "product-by-user", [*used, *sessions], partition=0)
    sent += produce(s, "product-by-user", [(b"k-garbage", GARBAGE)], partition=0)

    old = Sink(s, topics=["product-by-user"], serde=serde_without_feature_used(tmp_path))
    run_until(old, consumed(sent))
    assert counts(sink_client, "events") == (5, 5)
    loaded = letters(sink_client)
    assert [row[0] for row in loaded] == [f"{by_user}:0:{offset}:sink" for offset in [*range(10), 15]]
    assert {(row[1], row[2], row[3], row[4]) for row in loaded} == {
        ("sink", "DeserializationError", "", False)
    }
    assert loaded[-1][5] == GARBAGE
    assert loaded[0][5] == SERDE.encode(used[0], by_user)
    reason = sink_client.command(
        f"SELECT error FROM dead_letters_final WHERE dead_letter_id = '{by_user}:0:0:sink'"
    )
    assert reason.startswith(f"{by_user}[0]@0: unknown schema fingerprint")

    # The fix is deployed: the sink reads FeatureUsed again. Dry run first, then replay.
    runner = CliRunner()
    dry = runner.invoke(sink_cli, ["replay-dead-letters", "--source-topic", by_user, "--dry-run"], obj=s)
    assert dry.exit_code == 0, dry.output
    assert "11 selected, 0 replayed, 0 failed" in dry.output
    real = runner.invoke(
        sink_cli,
        ["replay-dead-letters", "--source-topic", by_user, "--error-class", "DeserializationError"],
        obj=s,
    )
    # The replayed garbage fails again, but its replay succeeded: the command exits 0.
    assert real.exit_code == 0, real.output
    assert "11 selected, 11 replayed, 0 failed" in real.output

    fixed = Sink(s, topics=["product-by-user"])
    run_until(fixed, consumed(11))
    assert counts(sink_client, "events") == (15, 15)
    assert sink_client.command("SELECT countIf(startsWith(event_id, 'used-')) FROM events_final") == 10
    after = letters(sink_client)
    assert [(row[0], row[3], row[4]) for row in after] == [
        *[(f"{by_user}:0:{offset}:sink", "", True) for offset in [*range(10), 15]],
        # The garbage failed again at its new offset: a new letter, pointing at the first.
        (f"{by_user}:0:26:sink", f"{by_user}:0:15:sink", False),
    ]

    # Replaying is safe to repeat: three already replayed letters again -> no new event.
    again = ReplaySelection(ids=tuple(f"{by_user}:0:{i}:sink" for i in range(3)), include_replayed=True)
    result = replay_dead_letters(
        warehouse_client(s.warehouse, s.warehouse.database),
        ClickHouseWriter.from_settings(s.warehouse),
        s.kafka,
        again,
    )
    assert (len(result.replayed), result.failed) == (3, {})
    run_until(Sink(s, topics=["product-by-user"]), consumed(3))
    assert counts(sink_client, "events") == (18, 15)  # stored under new offsets, one per event_id in FINAL
    # Without --include-replayed only the letter that failed again is still selected.
    pending = ReplaySelection(source_topic=by_user)
    client = warehouse_client(s.warehouse, s.warehouse.database)
    assert [r["dead_letter_id"] for r in select_dead_letters(client, pending)] == [f"{by_user}:0:26:sink"]


def test_a_worker_dead_letter_is_replayed_to_its_source_topic_with_its_bytes_and_a_replay_header(
    sink_settings: Settings, sink_client: Any
) -> None:
    s = sink_settings
    source = s.topics.name(topics.PRODUCT_EVENTS)
    ensure_topics(s.kafka, [source], 2)
    event = samples.product_events()[1]
    value = SERDE.encode(event, source)
    headers = [
        ("error", b"boom"), ("error_class", b"RuntimeError"), ("source_topic", source.encode()),
        ("source_partition", b"1"), ("source_offset", b"7"), ("stage", b"resolve-product"),
        ("failed_at", b"1772442000123"),
    ]  # fmt: skip
    sent = produce(s, topics.DEAD_LETTERS, [(b"product:ada-7", value, headers)])
    run_until(Sink(s, topics=[topics.DEAD_LETTERS]), consumed(sent))
    letter_id = f"{source}:1:7:resolve-product"
    assert letters(sink_client) == [(letter_id, "resolve-product", "RuntimeError", "", False, value)]

    with pytest.raises(ReplayError, match="choose dead letters to replay"):
        ReplaySelection().where()
    result = replay_dead_letters(
        warehouse_client(s.warehouse, s.warehouse.database),
        ClickHouseWriter.from_settings(s.warehouse),
        s.kafka,
        ReplaySelection(ids=(letter_id,)),
    )
    assert result.replayed == [letter_id]
    (replayed,) = read_topic(s, None, source, expect=1, timeout=20)
    assert (replayed.partition, replayed.key, replayed.raw) == (1, b"product:ada-7", value)
    assert replayed.headers[DeadLetterHeader.REPLAY_OF] == letter_id.encode()
    assert letters(sink_client)[0][4] == 1  # replayed_at is set


def test_with_a_pseudonymisation_key_a_dead_letter_is_stored_sealed_and_replayed_as_it_was(
    sink_settings: Settings, sink_client: Any
) -> None:
    s = sink_settings.model_copy(
        update={"privacy": PrivacySettings(pseudonymisation_key=SecretStr("replay-test-key-0123456789"))}
    )
    source = s.topics.name(topics.COMMUNITY_EVENTS)
    ensure_topics(s.kafka, [source], 1)
    event = samples.community_events()[0]  # identity: ada@example.com
    value, key = SERDE.encode(event, source), b"email:ada@example.com"
    headers = [
        ("error", b"boom for ada@example.com"), ("error_class", b"RuntimeError"),
        ("source_topic", source.encode()), ("source_partition", b"0"), ("source_offset", b"3"),
        ("stage", b"resolve-community"), ("failed_at", b"1772442000123"),
    ]  # fmt: skip
    sent = produce(s, topics.DEAD_LETTERS, [(key, value, headers)])
    run_until(Sink(s, topics=[topics.DEAD_LETTERS]), consumed(sent))
    stored = sink_client.query(
        "SELECT key, value, error FROM dead_letters_final", column_formats={"key": "bytes", "value": "bytes"}
    ).result_rows
    assert len(stored) == 1
    stored_key, stored_value, error = stored[0]
    assert stored_key.startswith(b"sealed1:") and stored_value.startswith(b"sealed1:")
    assert b"ada@example.com" not in stored_key + stored_value and "ada@example.com" not in error

    letter_id = f"{source}:0:3:resolve-community"
    result = CliRunner().invoke(sink_cli, ["replay-dead-letters", "--id", letter_id], obj=s)
    assert result.exit_code == 0, result.output
    assert "1 selected, 1 replayed, 0 failed" in result.output
    (replayed,) = read_topic(s, None, source, expect=1, timeout=20)
    assert (replayed.key, replayed.raw) == (key, value)
