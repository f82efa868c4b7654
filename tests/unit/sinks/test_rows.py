"""Every record type to its table and row, with the typed columns analysts use."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from schemas import models
from sinks.exceptions import UnloadableRecordError
from sinks.rows import COLUMNS, ID_COLUMN, Source, dead_letter_row, row_for
from tests.unit.sinks import samples

SRC = Source("t-product-by-user", 3, 41)
TYPED_DEFAULTS = {"feature": "", "status_code": 0, "tags": [], "is_question": False, "mrr_cents": 0}


def rows_by_type() -> dict[str, tuple[str, dict]]:
    return {type(r).__name__: row_for(r, SRC) for r in samples.every_record()}


def test_every_record_type_maps_to_its_table_with_exactly_the_table_columns() -> None:
    rows = rows_by_type()
    tables = {name: table for name, (table, _) in rows.items()}
    assert tables == {
        **{t.__name__: "events" for t in models.EVENT_MODELS if t is not models.IdentityLink},
        "IdentityLink": "identity_links",
        "EngagementScoreUpdate": "engagement_scores",
        "ChurnRiskTrigger": "churn_triggers",
        "RelationshipEdge": "relationship_edges",
        "MentorSuggestion": "mentor_suggestions",
        "IdentityMergeRefused": "identity_refusals",
        "AccountHealth": "account_health",
    }
    for name, (table, row) in rows.items():
        assert tuple(row) == COLUMNS[table], name
        assert row[ID_COLUMN[table]], name


@pytest.mark.parametrize(
    ("record_type", "typed"),
    [
        ("FeatureUsed", {"feature": "dashboards", "is_key_feature": True}),
        (
            "ApiCall",
            {
                "endpoint": "/v1/query",
                "status_code": 401,
                "latency_ms": 35,
                "error_class": "auth.invalid_token",
            },
        ),
        ("SessionStarted", {"session_id": "s-1", "platform": "web"}),
        (
            "PlanChanged",
            {"plan_change": "UPGRADE", "from_plan": "free", "to_plan": "team", "mrr_cents": 4900},
        ),
        ("SupportTicketOpened", {"ticket_id": "t-1", "ticket_topic": "auth", "resolution": ""}),
        ("SupportTicketClosed", {"ticket_id": "t-1", "resolution": "solved", "ticket_topic": ""}),
        ("MemberJoined", {"community": "forum", "is_teammate": True}),
        (
            "PostCreated",
            {"post_id": "p-1", "channel": "help", "is_question": True, "tags": ["auth", "token"]},
        ),
        (
            "ReplyCreated",
            {
                "post_id": "p-1",
                "reply_id": "r-1",
                "counterpart_provider": "github",
                "counterpart_external_id": "bob",
            },
        ),
        (
            "AnswerAccepted",
            {"post_id": "p-1", "reply_id": "r-1", "tags": ["auth"], "counterpart_external_id": "bob"},
        ),
        ("QuestionTagged", {"post_id": "p-1", "tags": ["sso"]}),
        ("ReactionAdded", {"post_id": "p-1", "reaction": "+1", "counterpart_external_id": "bob"}),
        ("Mention", {"post_id": "p-1", "counterpart_provider": "github", "counterpart_external_id": "bob"}),
        ("OnboardingStepCompleted", {"onboarding_step": "profile", "step_index": 2, "total_steps": 5}),
        ("EventAttended", {"community_event_name": "Meetup", "community_event_kind": "meetup"}),
    ],
)
def test_event_typed_columns(record_type: str, typed: dict) -> None:
    table, row = rows_by_type()[record_type]
    assert table == "events"
    assert {k: row[k] for k in typed} == typed
    untouched = {k: v for k, v in TYPED_DEFAULTS.items() if k not in typed}
    if record_type not in ("PlanChanged", "FeatureUsed", "ApiCall"):
        assert {k: row[k] for k in untouched} == untouched
    assert row["event_type"] == record_type


def test_event_envelope_payload_json_and_kafka_position() -> None:
    _, row = rows_by_type()["PostCreated"]
    assert row["area"] == "community"
    assert row["event_id"] == "e-102"
    assert row["occurred_at"] == datetime(2026, 3, 2, 10, 42, 0, 123000, tzinfo=UTC)
    assert row["sent_at"] == datetime(2026, 3, 2, 10, 42, 1, 123000, tzinfo=UTC)
    assert (row["provider"], row["external_id"], row["canonical_id"]) == ("email", "ada@example.com", "c-ada")
    assert json.loads(row["payload"]) == {
        "post_id": "p-1",
        "channel": "help",
        "title": "Token?",
        "is_question": True,
        "tags": ["auth", "token"],
    }
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("t-product-by-user", 3, 41)
    assert rows_by_type()["FeatureUsed"][1]["area"] == "product"


def test_identity_link_row() -> None:
    _, row = rows_by_type()["IdentityLink"]
    assert {
        k: row[k] for k in ("link_id", "provider", "external_id", "linked_provider", "linked_external_id")
    } == {
        "link_id": "e-200",
        "provider": "product",
        "external_id": "ada-7",
        "linked_provider": "email",
        "linked_external_id": "ada@example.com",
    }
    assert row["canonical_id"] == ""


def test_output_rows_keep_values_and_enum_symbols() -> None:
    rows = rows_by_type()
    score = rows["EngagementScoreUpdate"][1]
    assert (score["update_id"], score["score"], score["orbit_level"], score["event_count"]) == (
        "u-300",
        7.5,
        2,
        9,
    )
    assert score["source_sent_at"] is None
    trigger = rows["ChurnRiskTrigger"][1]
    assert (trigger["reason"], trigger["evidence"]) == ("API_ERRORS", {"streak": "3"})
    edge = rows["RelationshipEdge"][1]
    assert (edge["kind"], edge["from_canonical_id"], edge["to_canonical_id"]) == ("REPLY", "c-ada", "c-bob")
    mentors = rows["MentorSuggestion"][1]
    assert (mentors["mentors"], mentors["mentor_solved_counts"]) == (["c-bob", "c-cy"], [4, 1])
    assert mentors["mentor_last_solved_at"][0] == datetime(2026, 3, 1, 14, 0, 0, 123000, tzinfo=UTC)
    refusal = rows["IdentityMergeRefused"][1]
    assert (refusal["reason"], refusal["linked_external_id"], refusal["linked_canonical_id"]) == (
        "BOTH_HAVE_OTHER_IDENTITIES",
        "bob",
        "c-bob",
    )


def test_records_the_sink_does_not_load_and_out_of_range_times_are_refused_with_the_field() -> None:
    letter = models.DeadLetter(
        dead_letter_id="x",
        source_topic="t",
        source_partition=0,
        source_offset=1,
        error_class="E",
        error="e",
        stage="s",
        failed_at=samples.T0,
    )
    with pytest.raises(UnloadableRecordError, match="no DeadLetter records"):
        row_for(letter, SRC)
    far = samples.product_events()[0].model_copy(update={"occurred_at": datetime(2300, 1, 1, tzinfo=UTC)})
    with pytest.raises(UnloadableRecordError, match=r"events\.occurred_at = 2300-01-01"):
        row_for(far, SRC)


def test_dead_letter_row_is_keyed_on_where_the_message_was_read() -> None:
    row = dead_letter_row(
        source_topic="t-product-events",
        source_partition=1,
        source_offset=17,
        stage="resolve-product",
        error_class="DeserializationError",
        error="bad",
        key=b"k",
        value=b"\xff\x00",
        failed_at=samples.T0,
        replay_of="",
        source=Source("t-dead-letters", 0, 5),
    )
    assert tuple(row) == COLUMNS["dead_letters"]
    assert row["dead_letter_id"] == "t-product-events:1:17:resolve-product"
    assert (row["value"], row["version"], row["replayed_at"]) == (b"\xff\x00", 0, None)
    assert (row["kafka_topic"], row["kafka_offset"]) == ("t-dead-letters", 5)


def test_a_mentor_suggestion_row_holds_each_mentors_reasons_in_parallel_arrays() -> None:
    table, row = rows_by_type()["MentorSuggestion"]
    assert table == "mentor_suggestions"
    assert row["mentors"] == ["c-bob", "c-cy"]
    assert row["mentor_orbit_levels"] == [1, 0]
    assert row["mentor_is_inner"] == [True, False]
    assert row["mentor_reasons"] == ["4 accepted answers", ""]
    assert row["error_count"] == 3
    assert (row["suggested_at"] - row["first_error_at"]).total_seconds() == 20 * 60


def test_an_account_health_row_is_the_records_fields() -> None:
    table, row = rows_by_type()["AccountHealth"]
    assert table == "account_health"
    assert (row["health_id"], row["health"], row["open_risks"], row["plan"], row["expansion_signal"]) == (
        "h-300",
        62.5,
        ["API_ERRORS"],
        "free",
        False,
    )
