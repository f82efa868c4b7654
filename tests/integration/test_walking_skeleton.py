"""Producer SDK -> Kafka -> Faust worker -> sink -> ClickHouse, on the real broker and warehouse."""

from __future__ import annotations

import pytest

from schemas.identity import deterministic_canonical_id
from sinks.migrate import apply_migrations
from sinks.runner import Sink
from tests.fixtures import events as ev
from tests.fixtures.streams import send_events
from tests.integration.sinks.helpers import run_until

pytestmark = pytest.mark.integration


def test_product_and_community_events_of_one_person_land_as_rows_under_one_canonical_id(
    pipeline_factory, warehouse, ch_database
) -> None:
    pipeline = pipeline_factory(partitions=2, warehouse={"port": warehouse.port, "database": ch_database})
    pipeline.start_workers(1)
    ada_product, ada_email = ev.product("ada-7"), ev.email("ada@example.com")
    link = ev.link(ada_product, ada_email, ev.at(0))
    send_events(pipeline.settings, [link])
    # No wait for the link: one written before the events applies to them, however the
    # worker's reads interleave (docs/identity.md).
    used = ev.make("FeatureUsed", ada_product, ev.at(1), feature="dashboards", is_key_feature=True)
    asked = ev.make(
        "PostCreated",
        ada_email,
        ev.at(2),
        post_id="q1",
        channel="help",
        title="Token?",
        is_question=True,
        tags=["auth.invalid_token"],
    )
    send_events(pipeline.settings, [used, asked])

    client = warehouse.client(database=ch_database)
    apply_migrations(client, ch_database)
    run_until(Sink(pipeline.settings), lambda s: s.rows_written["engagement_scores"] >= 2, 60)
    ada = deterministic_canonical_id("product", "ada-7")
    rows = client.query(
        "SELECT event_id, event_type, area, canonical_id, provider, external_id, feature, is_key_feature, "
        "post_id, is_question, tags FROM events FINAL ORDER BY occurred_at"
    ).result_rows
    assert rows == [
        (used.event_id, "FeatureUsed", "product", ada, "product", "ada-7", "dashboards", True, "", False, []),
        (
            asked.event_id,
            "PostCreated",
            "community",
            ada,
            "email",
            "ada@example.com",
            "",
            False,
            "q1",
            True,
            ["auth.invalid_token"],
        ),
    ]
    scores = client.query(
        "SELECT source_event_id, canonical_id, product_score, community_score, event_count "
        "FROM engagement_scores FINAL ORDER BY event_count"
    ).result_rows
    # The two events travel on two topics: which one the join folds first depends on which
    # fetch returned first unless both came in one batch (docs/streams.md, "Arrival order").
    # What cannot depend on it: one update per event, and the last one holding both, the
    # product weight decayed over the hour between.
    half_life_h = pipeline.settings.streams.scoring.half_life_hours
    both = (ada, round(2.0 * 0.5 ** (1 / half_life_h), 6), 3.0, 2)
    assert {row[0] for row in scores} == {used.event_id, asked.event_id}
    assert [row[1:] for row in scores][-1] == both
    assert [row[4] for row in scores] == [1, 2]
    assert client.command("SELECT count() FROM identity_links FINAL") == 1
