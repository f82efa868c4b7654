"""What the schema and the writer claim, shown on the embedded warehouse (chdb 26.9).

- a retried insert with the same insert_deduplication_token is dropped at insert time
  (the table's non_replicated_deduplication_window), so nothing extra is even stored;
- rows of one id inserted under different tokens are both stored, and FINAL / the
  *_final views show one (ReplacingMergeTree on the id);
- async_insert is on by default in this engine, which is why the writer turns it off.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sinks.rows import Source, dead_letter_row, row_for
from sinks.writer import INSERT_SETTINGS, ClickHouseWriter
from tests.integration.sinks.conftest import counts
from tests.unit.sinks import samples

pytestmark = pytest.mark.integration


def duplicated_blocks(client: Any) -> int:
    value = client.command("SELECT sum(value) FROM system.events WHERE event = 'DuplicatedInsertedBlocks'")
    return int(value or 0)


def event_rows(n: int) -> list[dict[str, Any]]:
    events = [*samples.product_events(), *samples.community_events()]
    return [
        row_for(events[i % len(events)].model_copy(update={"event_id": f"dup-{i}"}), Source("t", 0, i))[1]
        for i in range(n)
    ]


def test_the_engine_defaults_to_async_inserts_and_the_writer_turns_them_off(sink_client: Any) -> None:
    defaults = dict(
        sink_client.query(
            "SELECT name, value FROM system.settings "
            "WHERE name IN ('async_insert', 'async_insert_deduplicate')"
        ).result_rows
    )
    assert defaults == {"async_insert": "1", "async_insert_deduplicate": "0"}
    assert INSERT_SETTINGS == {"async_insert": 0, "insert_deduplicate": 1}


def test_a_retried_batch_with_the_same_token_is_dropped_at_insert_time(sink_client: Any) -> None:
    sink_client.command("SYSTEM STOP MERGES events")  # stored rows then show what each insert did
    writer = ClickHouseWriter(lambda: sink_client)
    rows = event_rows(12)
    before = duplicated_blocks(sink_client)
    writer.insert("events", rows, token="events/t/0/0-11")
    writer.insert("events", rows, token="events/t/0/0-11")  # the retry after an unacknowledged insert
    assert counts(sink_client, "events") == (12, 12)
    assert duplicated_blocks(sink_client) > before
    # The same ids under another token (a batch cut differently) are stored twice ...
    writer.insert("events", rows[6:], token="events/t/0/6-11")
    assert counts(sink_client, "events") == (18, 12)
    # ... and analysts see each id once, through FINAL or the *_final view.
    assert sink_client.command("SELECT count() FROM events_final") == 12
    assert sink_client.command("SELECT uniqExact(event_id) FROM events_final") == 12


def test_the_replay_mark_of_a_dead_letter_wins_over_a_re_delivered_original(sink_client: Any) -> None:
    writer = ClickHouseWriter(lambda: sink_client)
    failed = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    original = dead_letter_row(
        source_topic="p-product-by-user", source_partition=0, source_offset=7, stage="sink",
        error_class="DeserializationError", error="bad", key=None, value=b"\x00\xff", failed_at=failed,
        replay_of="", source=Source("p-product-by-user", 0, 7),
    )  # fmt: skip
    writer.insert("dead_letters", [original], token="a")
    replayed_at = failed + timedelta(hours=1)
    mark = {**original, "replayed_at": replayed_at, "version": int(replayed_at.timestamp() * 1000)}
    writer.insert("dead_letters", [mark], token="b")
    writer.insert("dead_letters", [original], token="c")  # the sink re-reads the original later
    rows = sink_client.query(
        "SELECT dead_letter_id, replayed_at, value FROM dead_letters_final", column_formats={"value": "bytes"}
    ).result_rows
    assert [(r[0], r[1].replace(tzinfo=UTC), r[2]) for r in rows] == [
        ("p-product-by-user:0:7:sink", replayed_at, b"\x00\xff")
    ]


def test_engagement_latest_is_the_newest_update_per_user(sink_client: Any) -> None:
    writer = ClickHouseWriter(lambda: sink_client)
    base = samples.outputs()[0]
    ada = [
        {"update_id": f"c-ada:e{i}", "as_of": samples.T0 + timedelta(hours=i), "event_count": i,
         "orbit_level": 4 - i, "score": float(i)}
        for i in range(1, 4)
    ]  # fmt: skip
    bob = {"update_id": "c-bob:e1", "canonical_id": "c-bob", "score": 9.0}
    updates = [base.model_copy(update=u) for u in [*ada, bob]]
    rows = [row_for(u, Source("t", 0, 0))[1] for u in updates]
    writer.insert("engagement_scores", rows, token="s1")
    writer.insert("engagement_scores", rows[2:3], token="s2")  # a duplicate of the newest changes nothing
    latest = sink_client.query(
        "SELECT canonical_id, score, orbit_level, event_count, update_id "
        "FROM engagement_latest ORDER BY canonical_id"
    ).result_rows
    assert latest == [("c-ada", 3.0, 1, 3, "c-ada:e3"), ("c-bob", 9.0, 2, 9, "c-bob:e1")]
