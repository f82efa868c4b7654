"""Kill the sink between a ClickHouse insert and its offset commit, restart it: nothing is
lost and nothing is duplicated, and each test shows which mechanism removed the duplicate.

The sink runs in a subprocess (crashing_sink.py): after its Nth batch insert it SIGKILLs
itself before committing. Merges are stopped on the tables, so the rows stored
(count without FINAL) show exactly what every insert did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from foundation.settings import Settings, to_environment
from foundation.waiting import poll_until
from infra.processes import ManagedProcess
from schemas import topics
from sinks.runner import Sink
from tests.integration.sinks.conftest import PARTITIONS, counts, produce_records
from tests.integration.sinks.helpers import caught_up, committed_and_end, run_until
from tests.unit.sinks import samples

pytestmark = pytest.mark.integration

PER_PARTITION = 80  # events per partition: 4 full batches of 20 each
SCORES_PER_PARTITION = 20
TOPICS = ["product-by-user", topics.ENGAGEMENT_SCORES]


def count_cut(settings: Settings, batch_max_rows: int = 20) -> Settings:
    """Batches cut by count only (the age bound is never reached): every cut is reproducible."""
    bounds = {"batch_max_rows": batch_max_rows, "batch_max_seconds": 60.0}
    return settings.model_copy(update={"sink": settings.sink.model_copy(update=bounds)})


def produce_workload(settings: Settings) -> None:
    base = samples.product_events()[0]
    score = samples.outputs()[0]
    for p in range(PARTITIONS):
        events = [base.model_copy(update={"event_id": f"p{p}-{i}"}) for i in range(PER_PARTITION)]
        produce_records(settings, "product-by-user", events, partition=p)
        scores = [score.model_copy(update={"update_id": f"p{p}-u{i}"}) for i in range(SCORES_PER_PARTITION)]
        produce_records(settings, topics.ENGAGEMENT_SCORES, scores, partition=p)


def crash_once(settings: Settings, client: Any, log_dir: Path) -> tuple[int, int]:
    """Run the sink in a subprocess until it kills itself; return (rows stored, messages committed)."""
    for table in ("events", "engagement_scores"):
        client.command(f"SYSTEM STOP MERGES {table}")
    proc = ManagedProcess.python_module(
        "sink", "tests.integration.sinks.crashing_sink", ["3"], log_dir / "sink.log", to_environment(settings)
    ).start()
    try:
        poll_until(lambda: not proc.alive(), 90, 0.2)
    finally:
        proc.stop()
    assert proc.returncode == -9, proc.log_tail()
    assert "SIGKILL before committing" in proc.log_tail()
    stored = counts(client, "events")[0] + counts(client, "engagement_scores")[0]
    committed, end = committed_and_end(settings, TOPICS, PARTITIONS)
    assert end == PARTITIONS * (PER_PARTITION + SCORES_PER_PARTITION)
    # The crash left rows in ClickHouse whose offsets were never committed.
    assert stored == 3 * settings.sink.batch_max_rows
    assert committed < stored
    return stored, committed


def duplicated_blocks(client: Any) -> int:
    return int(
        client.command("SELECT sum(value) FROM system.events WHERE event = 'DuplicatedInsertedBlocks'") or 0
    )


def test_restart_after_a_crash_re_sends_the_same_batches_and_clickhouse_drops_them_at_insert(
    sink_settings: Settings, sink_client: Any, tmp_path: Path
) -> None:
    settings = count_cut(sink_settings)
    produce_workload(settings)
    stored_at_crash, committed_at_crash = crash_once(settings, sink_client, tmp_path)
    before = duplicated_blocks(sink_client)

    restarted = Sink(settings)
    stats = run_until(restarted, caught_up(settings, TOPICS, PARTITIONS), timeout=90)

    n_events, n_scores = PARTITIONS * PER_PARTITION, PARTITIONS * SCORES_PER_PARTITION
    # Exact for analysts, and exact even in storage: nothing was stored twice.
    assert counts(sink_client, "events") == (n_events, n_events)
    assert counts(sink_client, "engagement_scores") == (n_scores, n_scores)
    # The restarted sink did re-read and re-insert the uncommitted batches ...
    assert stats.consumed == n_events + n_scores - committed_at_crash
    assert stats.rows["events"] + stats.rows["engagement_scores"] == n_events + n_scores - committed_at_crash
    # ... and ClickHouse dropped those blocks by their insert_deduplication_token.
    assert duplicated_blocks(sink_client) > before
    assert stored_at_crash > committed_at_crash


def test_restart_with_other_batch_bounds_stores_duplicates_that_final_collapses(
    sink_settings: Settings, sink_client: Any, tmp_path: Path
) -> None:
    produce_workload(sink_settings)
    stored_at_crash, committed_at_crash = crash_once(count_cut(sink_settings), sink_client, tmp_path)
    # Re-cut differently (7 per batch instead of 20): other tokens, so nothing is dropped
    # at insert time; the re-inserted rows carry the same ids.
    recut = sink_settings.model_copy(
        update={"sink": sink_settings.sink.model_copy(update={"batch_max_rows": 7})}
    )
    run_until(Sink(recut), caught_up(recut, TOPICS, PARTITIONS), timeout=90)

    n_events, n_scores = PARTITIONS * PER_PARTITION, PARTITIONS * SCORES_PER_PARTITION
    duplicates = stored_at_crash - committed_at_crash
    stored_events, final_events = counts(sink_client, "events")
    stored_scores, final_scores = counts(sink_client, "engagement_scores")
    assert stored_events + stored_scores == n_events + n_scores + duplicates
    assert (final_events, final_scores) == (n_events, n_scores)
    assert sink_client.command("SELECT count() FROM events_final") == n_events
    assert sink_client.command("SELECT uniqExact(event_id) FROM events") == n_events
