"""Take the warehouse away mid-stream: the sink keeps its batches, retries with backoff,
pauses consumption at its backlog bound, and once the warehouse is back (same port, same
data directory) every row is there exactly once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from foundation.topic_admin import ensure_topics
from infra.warehouse.process import EmbeddedWarehouse
from schemas import models
from sinks.migrate import apply_migrations
from sinks.runner import Sink
from tests.integration.sinks.conftest import PARTITIONS, counts, make_settings, produce_records
from tests.integration.sinks.helpers import run_until
from tests.unit.sinks import samples

pytestmark = pytest.mark.integration

BEFORE, DURING = 40, 200
BOUND = 50


def events(prefix: str, n: int) -> list[models.Event]:
    base = samples.product_events()[0]
    return [base.model_copy(update={"event_id": f"{prefix}-{i}"}) for i in range(n)]


def test_a_warehouse_outage_pauses_the_sink_and_loses_and_duplicates_nothing(
    kafka: str, tmp_path: Path
) -> None:
    warehouse = EmbeddedWarehouse(tmp_path / "warehouse").start()
    try:
        apply_migrations(warehouse.client(), "outage")
        settings = make_settings(
            kafka, warehouse.host, warehouse.port, "outage", f"o{uuid.uuid4().hex[:8]}-",
            max_buffered_rows=BOUND, batch_max_rows=20, backoff_max_s=0.5,
        )  # fmt: skip
        ensure_topics(settings.kafka, [settings.topics.name("product-by-user")], PARTITIONS)
        produce_records(settings, "product-by-user", events("before", BEFORE))
        seen = {"paused_while_down": False, "buffered_while_down": 0}
        phase = ["loading"]

        def scenario(sink: Sink) -> bool:
            if phase[0] == "loading" and sink.stats.rows["events"] >= BEFORE:
                warehouse.stop()
                produce_records(settings, "product-by-user", events("during", DURING))
                phase[0] = "down"
            elif phase[0] == "down" and sink.stats.paused and sink.stats.insert_failures >= 2:
                seen["paused_while_down"] = True
                seen["buffered_while_down"] = sink.batcher.buffered
                seen["lag_while_down"] = sum(sink.lag().values())
                warehouse.start()
                phase[0] = "back"
            return phase[0] == "back" and sink.stats.rows["events"] >= BEFORE + DURING

        sink = Sink(settings, topics=["product-by-user"])
        stats = run_until(sink, scenario, timeout=120)

        client = warehouse.client(database="outage")
        assert counts(client, "events") == (BEFORE + DURING, BEFORE + DURING)
        assert client.command("SELECT countIf(startsWith(event_id, 'during-')) FROM events_final") == DURING
        # Consumption stopped at the bound while 200 messages were waiting, then resumed.
        assert seen["paused_while_down"]
        assert seen["buffered_while_down"] == BOUND
        assert seen["lag_while_down"] == DURING  # nothing of the second wave was committed
        assert stats.max_buffered == BOUND
        assert stats.pauses >= 1 and not stats.paused
        assert stats.insert_failures >= 2
        assert "insert of" in (stats.last_error or "")
        assert stats.consumed == BEFORE + DURING
    finally:
        warehouse.stop()
