"""Every record type through the real broker and the sink into its table, exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from foundation.settings import Settings
from schemas import models, topics
from sinks.runner import Sink
from tests.integration.sinks.conftest import PARTITIONS, counts, produce, produce_records
from tests.integration.sinks.helpers import consumed, run_until
from tests.unit.sinks import samples

pytestmark = pytest.mark.integration

EXTRA = 120  # more FeatureUsed events, so every partition sees several batches


def extra_events() -> list[models.Event]:
    base = samples.product_events()[0]
    return [
        base.model_copy(update={"event_id": f"bulk-{i}", "canonical_id": f"c-{i % 7}"}) for i in range(EXTRA)
    ]


def worker_dead_letter(settings: Settings) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    headers = [
        ("error", b"identity.external_id: empty"),
        ("error_class", b"IllegalIdentityError"),
        ("source_topic", settings.topics.name(topics.PRODUCT_EVENTS).encode()),
        ("source_partition", b"1"),
        ("source_offset", b"42"),
        ("stage", b"resolve-product"),
        ("failed_at", b"1772442000123"),
    ]
    return b"product:", b"\xc3\x01not-really-avro", headers


def test_every_record_type_lands_once_in_its_table_with_its_values(
    sink_settings: Settings, sink_client: Any
) -> None:
    s = sink_settings
    product, community = samples.product_events(), samples.community_events()
    sent = produce_records(s, "product-by-user", [*product, *extra_events()])
    sent += produce_records(s, "community-by-user", community)
    sent += produce_records(s, topics.IDENTITY_LINKS, [samples.link()])
    outputs = samples.outputs()
    for record, topic in zip(
        outputs,
        [
            topics.ENGAGEMENT_SCORES,
            topics.CHURN_TRIGGERS,
            topics.RELATIONSHIP_EDGES,
            topics.MENTOR_SUGGESTIONS,
            topics.IDENTITY_REFUSALS,
            topics.ACCOUNT_HEALTH,
        ],
        strict=True,
    ):
        sent += produce_records(s, topic, [record])
    sent += produce(s, topics.DEAD_LETTERS, [worker_dead_letter(s)])
    sent += produce(s, "product-by-user", [(b"k", b"\x00\x00\x00\x00\x07garbage")], partition=1)

    sink = Sink(s)
    stats = run_until(sink, consumed(sent))

    expected = {
        "events": len(product) + EXTRA + len(community),
        "identity_links": 1,
        "engagement_scores": 1,
        "churn_triggers": 1,
        "relationship_edges": 1,
        "mentor_suggestions": 1,
        "identity_refusals": 1,
        "account_health": 1,
        "dead_letters": 2,
    }
    assert {t: counts(sink_client, t) for t in expected} == {t: (n, n) for t, n in expected.items()}
    assert dict(stats.rows) == expected
    assert (stats.consumed, stats.dead_lettered, stats.insert_failures, stats.pauses) == (sent, 1, 0, 0)
    # Several batches per partition, each committed once its rows were in.
    assert stats.batches_inserted >= EXTRA // s.sink.batch_max_rows
    assert all(v == 0 for v in sink_lag(s).values())

    api = sink_client.query(
        "SELECT event_type, area, provider, external_id, canonical_id, endpoint, status_code, error_class, "
        "latency_ms, payload, occurred_at, sent_at FROM events_final WHERE event_id = 'e-2'"
    ).result_rows
    assert api[0][:9] == (
        "ApiCall",
        "product",
        "product",
        "ada-7",
        "c-ada",
        "/v1/query",
        401,
        "auth.invalid_token",
        35,
    )
    assert json.loads(api[0][9]) == {
        "endpoint": "/v1/query",
        "status_code": 401,
        "error_class": "auth.invalid_token",
        "latency_ms": 35,
    }
    assert api[0][10].replace(tzinfo=UTC) == datetime(2026, 3, 2, 9, 2, 0, 123000, tzinfo=UTC)
    assert api[0][11].replace(tzinfo=UTC) == datetime(2026, 3, 2, 9, 2, 1, 123000, tzinfo=UTC)
    per_type = dict(
        sink_client.query("SELECT event_type, count() FROM events_final GROUP BY event_type").result_rows
    )
    assert per_type == {type(e).__name__: 1 for e in [*product, *community]} | {"FeatureUsed": 1 + EXTRA}
    post = sink_client.query(
        "SELECT area, post_id, channel, is_question, tags FROM events_final WHERE event_type = 'PostCreated'"
    ).result_rows
    assert post == [("community", "p-1", "help", True, ["auth", "token"])]
    plan = sink_client.query(
        "SELECT plan_change, from_plan, to_plan, mrr_cents FROM events_final WHERE event_type = 'PlanChanged'"
    ).result_rows
    assert plan == [("UPGRADE", "free", "team", 4900)]
    onboarding = sink_client.query(
        "SELECT onboarding_step, step_index, total_steps FROM events_final "
        "WHERE event_type = 'OnboardingStepCompleted'"
    ).result_rows
    assert onboarding == [("profile", 2, 5)]
    where = sink_client.query(
        "SELECT kafka_topic, count(), uniqExact(kafka_partition) FROM events_final "
        "GROUP BY kafka_topic ORDER BY 1"
    ).result_rows
    assert where == [
        (s.topics.name("community-by-user"), len(community), PARTITIONS),
        (s.topics.name("product-by-user"), len(product) + EXTRA, PARTITIONS),
    ]

    assert sink_client.query(
        "SELECT link_id, provider, external_id, linked_provider, linked_external_id, canonical_id "
        "FROM identity_links_final"
    ).result_rows == [("e-200", "product", "ada-7", "email", "ada@example.com", "")]
    assert sink_client.query(
        "SELECT update_id, canonical_id, score, orbit_level, previous_orbit_level, is_member, event_count "
        "FROM engagement_scores_final"
    ).result_rows == [("u-300", "c-ada", 7.5, 2, 3, True, 9)]
    assert sink_client.query(
        "SELECT canonical_id, score, orbit_level FROM engagement_latest"
    ).result_rows == [("c-ada", 7.5, 2)]
    assert sink_client.query("SELECT trigger_id, reason, evidence FROM churn_triggers_final").result_rows == [
        ("tr-300", "API_ERRORS", {"streak": "3"})
    ]
    assert sink_client.query(
        "SELECT edge_id, from_canonical_id, to_canonical_id, kind, weight FROM relationship_edges_final"
    ).result_rows == [("ed-300", "c-ada", "c-bob", "REPLY", 1.0)]
    assert sink_client.query(
        "SELECT suggestion_id, error_class, mentors, mentor_solved_counts FROM mentor_suggestions_final"
    ).result_rows == [("ms-300", "auth.invalid_token", ["c-bob", "c-cy"], [4, 1])]
    assert sink_client.query(
        "SELECT mentor_orbit_levels, mentor_is_inner, mentor_reasons, error_count, "
        "dateDiff('minute', first_error_at, suggested_at) FROM mentor_suggestions_final"
    ).result_rows == [([1, 0], [True, False], ["4 accepted answers", ""], 3, 20)]
    assert sink_client.query(
        "SELECT health_id, canonical_id, health, usage_component, community_component, risk_component, "
        "orbit_level, open_risks, plan, plan_usage_share, expansion_signal FROM account_health_final"
    ).result_rows == [("h-300", "c-ada", 62.5, 0.5, 0.75, 0.75, 2, ["API_ERRORS"], "free", 0.05, False)]
    assert sink_client.query(
        "SELECT canonical_id, health, health_id FROM account_health_latest"
    ).result_rows == [("c-ada", 62.5, "h-300")]
    assert sink_client.query(
        "SELECT refusal_id, reason, external_id, linked_external_id, canonical_id, linked_canonical_id "
        "FROM identity_refusals_final"
    ).result_rows == [("rf-300", "BOTH_HAVE_OTHER_IDENTITIES", "ada-7", "bob", "c-ada", "c-bob")]

    letters = sink_client.query(
        "SELECT dead_letter_id, stage, error_class, key, value, replayed_at, error "
        "FROM dead_letters_final ORDER BY stage",
        column_formats={"key": "bytes", "value": "bytes"},
    ).result_rows
    garbage_id = f"{s.topics.name('product-by-user')}:1:"
    assert letters[0][:6] == (
        f"{s.topics.name(topics.PRODUCT_EVENTS)}:1:42:resolve-product",
        "resolve-product",
        "IllegalIdentityError",
        b"product:",
        b"\xc3\x01not-really-avro",
        None,
    )
    assert letters[1][0].startswith(garbage_id)
    assert letters[1][1:6] == ("sink", "DeserializationError", b"k", b"\x00\x00\x00\x00\x07garbage", None)
    assert letters[1][6].startswith(f"{s.topics.name('product-by-user')}[1]@{letters[1][0].split(':')[2]}: ")


def sink_lag(settings: Settings) -> dict[str, int]:
    """Committed lag of the sink's group, read by a fresh consumer of that group."""
    probe = Sink(settings)
    try:
        from confluent_kafka import TopicPartition

        parts = [TopicPartition(t, p) for t in probe.topics for p in range(PARTITIONS)]
        lag: dict[str, int] = {}
        for tp in probe.consumer.committed(parts, timeout=10):
            _, high = probe.consumer.get_watermark_offsets(tp, timeout=10)
            lag[f"{tp.topic}[{tp.partition}]"] = high - max(tp.offset, 0)
        return lag
    finally:
        probe.consumer.close()
