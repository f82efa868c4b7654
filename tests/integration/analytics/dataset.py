"""A small hand-built warehouse for the analyses: every row is written out here, so each
test can work its expected numbers out by hand (the arithmetic is in the tests).

Weeks (UTC, Mondays): cohorts W1 = 2026-01-05, W2 = 2026-01-12. The window is two weekly
periods, P0 = [Feb 2, Feb 9) and P1 = [Feb 9, Feb 16); A = [Jan 26, Feb 2) is the week
before P0. AS_OF = Feb 20.

Users: m1 m2 m3 m5 (W1) and m4 (W2) join the community within a day or two of signup;
n1 n2 (W1), n3 (W2) and p (Feb 10) never join; `late` (W1) joins ten days after signup;
x is a community member with no signup; n4 is a product user with no signup; `staff`
is a teammate (excluded everywhere).

m5 joined the community under a GitHub identity that the workers resolved to another id
before it was linked (see GITHUB_M5): only the re-resolution in events_resolved makes m5
a member.

Duplicates: one event, one score update, one edge and one trigger are stored twice (a
second insert with a later ingested_at, merges stopped), as a re-delivery leaves them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.params import Window

AS_OF = datetime(2026, 2, 20, tzinfo=UTC)
WINDOW = Window(start=datetime(2026, 2, 2, tzinfo=UTC), end=datetime(2026, 2, 16, tzinfo=UTC))
LOADED = datetime(2026, 2, 21, tzinfo=UTC)


def t(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


GITHUB_M5 = {"provider": "github", "external_id": "gh-m5"}

# (user, event_type, time, extra columns). Activity = any event but PlanChanged and
# SupportTicketClosed; "value" = successful ApiCall or key FeatureUsed.
EVENTS: list[tuple[str, str, datetime, dict[str, Any]]] = [
    ("staff", "PlanChanged", t(1, 5, 9), {"plan_change": "SIGNUP"}),
    ("staff", "MemberJoined", t(1, 5, 9) + timedelta(minutes=30), {"is_teammate": True}),
    ("staff", "FeatureUsed", t(1, 5, 10), {"is_key_feature": True}),
    ("staff", "SessionStarted", t(1, 28, 9), {}),
    ("staff", "SessionStarted", t(2, 3, 9), {}),
    ("staff", "SessionStarted", t(2, 10, 9), {}),
    ("staff", "AnswerAccepted", t(1, 30, 12), {"post_id": "q0"}),
    ("staff", "AnswerAccepted", t(2, 5, 12), {"post_id": "q0"}),  # q0 again: first accepted Jan 30
    ("m1", "PlanChanged", t(1, 5, 10), {"plan_change": "SIGNUP"}),
    ("m1", "MemberJoined", t(1, 5, 12), {}),
    ("m1", "FeatureUsed", t(1, 5, 13), {"is_key_feature": True}),
    ("m1", "SessionStarted", t(1, 30, 10), {}),
    ("m1", "SessionStarted", t(2, 3, 10), {}),
    ("m1", "SessionStarted", t(2, 18, 10), {}),
    ("m2", "PlanChanged", t(1, 6, 9), {"plan_change": "SIGNUP"}),
    ("m2", "ApiCall", t(1, 7, 9), {"status_code": 200}),
    ("m2", "MemberJoined", t(1, 8, 9), {}),
    ("m2", "AnswerAccepted", t(2, 3, 12), {"post_id": "q1"}),
    ("m2", "AnswerAccepted", t(2, 10, 12), {"post_id": "q1"}),
    ("m3", "PlanChanged", t(1, 7, 8), {"plan_change": "SIGNUP"}),
    ("m3", "MemberJoined", t(1, 7, 9), {}),
    ("m3", "ApiCall", t(1, 7, 10), {"status_code": 401, "error_class": "auth.invalid_token"}),
    ("m3", "ApiCall", t(1, 9, 8), {"status_code": 200}),
    ("m3", "SessionStarted", t(1, 20, 8), {}),
    ("m3", "SessionStarted", t(2, 6, 8), {}),  # exactly signup + 30 days
    ("m3", "SessionStarted", t(2, 13, 8), {}),
    ("n1", "PlanChanged", t(1, 5, 15), {"plan_change": "SIGNUP"}),
    ("n1", "FeatureUsed", t(1, 6, 15), {"is_key_feature": True}),
    ("n1", "SessionStarted", t(2, 1, 15), {}),
    ("n2", "PlanChanged", t(1, 8, 11), {"plan_change": "SIGNUP"}),
    ("n2", "SessionStarted", t(1, 9, 11), {}),
    ("n2", "SupportTicketOpened", t(1, 31, 10), {"ticket_id": "t1"}),
    ("n2", "PlanChanged", t(2, 1, 11), {"plan_change": "UPGRADE"}),
    ("n2", "SupportTicketClosed", t(2, 2, 11), {"ticket_id": "t1"}),
    ("late", "PlanChanged", t(1, 9, 10), {"plan_change": "SIGNUP"}),
    ("late", "ApiCall", t(1, 10, 10), {"status_code": 200}),
    ("late", "MemberJoined", t(1, 19, 10), {}),
    ("late", "SessionStarted", t(2, 5, 10), {}),
    ("m5", "PlanChanged", t(1, 10, 10), {"plan_change": "SIGNUP"}),
    # m5 joined with a GitHub account not yet linked: the worker gave that identity its own
    # id; after the link its events carry m5 (events_resolved puts the join under m5).
    ("gh-m5", "MemberJoined", t(1, 10, 11), GITHUB_M5),
    ("m5", "ReplyCreated", t(2, 4, 10), {"post_id": "q2", **GITHUB_M5}),
    ("m5", "AnswerAccepted", t(2, 4, 12), {"post_id": "q2"}),
    ("m5", "AnswerAccepted", t(2, 11, 12), {"post_id": "q3"}),
    ("m5", "Mention", t(2, 11, 13), {}),
    ("m4", "PlanChanged", t(1, 12, 10), {"plan_change": "SIGNUP"}),
    ("m4", "MemberJoined", t(1, 12, 11), {}),
    ("m4", "FeatureUsed", t(1, 12, 12), {"is_key_feature": True}),
    ("m4", "SessionStarted", t(1, 28, 10), {}),
    ("m4", "SessionStarted", t(2, 8, 10), {}),
    ("n3", "ApiCall", t(1, 13, 9), {"status_code": 200}),  # before signup: not first value
    ("n3", "PlanChanged", t(1, 13, 10), {"plan_change": "SIGNUP"}),
    ("n3", "SessionStarted", t(1, 14, 10), {}),
    ("n3", "SupportTicketOpened", t(2, 12, 12), {"ticket_id": "t4"}),
    ("p", "PlanChanged", t(2, 10, 10), {"plan_change": "SIGNUP"}),
    ("p", "ApiCall", t(2, 10, 20), {"status_code": 200}),
    ("x", "MemberJoined", t(1, 2, 10), {}),
    ("x", "ReactionAdded", t(1, 27, 10), {}),
    ("n4", "SessionStarted", t(2, 3, 10), {}),
    ("n4", "SupportTicketOpened", t(2, 5, 10), {"ticket_id": "t2"}),
    ("n4", "SupportTicketOpened", t(2, 10, 10), {"ticket_id": "t3"}),
]

COMMUNITY = {"MemberJoined", "AnswerAccepted", "ReplyCreated", "ReactionAdded", "Mention"}

# (user, orbit_level, as_of, event_count). Level 0: not a member, or a teammate.
SCORES: list[tuple[str, int, datetime, int]] = [
    ("staff", 0, t(1, 28, 9), 4),
    ("n1", 0, t(2, 1, 15), 3),
    ("x", 4, t(1, 3), 1),
    ("x", 2, t(2, 12), 2),
    ("m1", 4, t(1, 20), 1),
    ("m1", 2, t(2, 5), 2),  # stored twice
    ("m1", 1, t(2, 12), 3),
    ("m2", 3, t(1, 25), 4),
    ("m2", 3, t(2, 10), 5),  # same as_of as the next: the higher event_count wins
    ("m2", 2, t(2, 10), 6),
    ("m3", 2, t(1, 15), 3),
    ("m3", 3, t(2, 9), 4),  # exactly at the P0/P1 boundary: counts from P1's end on
    ("m4", 4, t(2, 3), 1),
    ("m5", 1, t(1, 10), 2),
    ("m5", 2, t(2, 14), 3),
]

# (from, to, kind, occurred_at)
EDGES: list[tuple[str, str, str, datetime]] = [
    ("m2", "m5", "REPLY", t(2, 3)),
    ("m5", "m2", "ANSWER", t(2, 4)),  # the same pair the other way
    ("x", "m5", "MENTION", t(2, 6)),  # stored twice
    ("m2", "x", "REPLY", t(2, 17)),  # after AS_OF of the density test (Feb 16)
    ("m1", "m2", "REPLY", t(2, 7)),  # levels 1 and 2
    ("m4", "m4", "MENTION", t(2, 7)),  # self
    ("n1", "m2", "REACTION", t(2, 7)),  # n1 has no level
    ("staff", "m3", "ANSWER", t(2, 7)),  # staff has level 0
]

# (trigger_id, user, reason, fired_at)
TRIGGERS: list[tuple[str, str, str, datetime]] = [
    ("n1-usage", "n1", "USAGE_DROP", t(2, 4, 10)),  # stored twice
    ("m1-usage", "m1", "USAGE_DROP", t(2, 12, 10)),
    ("m4-silent", "m4", "MEMBER_SILENT", t(2, 14, 10)),
    ("m2-api-a", "m2", "API_ERRORS", t(2, 3, 10)),
    ("m2-api-b", "m2", "API_ERRORS", t(2, 10, 8)),
    ("staff-question", "staff", "QUESTION_UNANSWERED", t(2, 5)),
    ("n1-old", "n1", "USAGE_DROP", t(1, 20)),  # before the window
    ("x-end", "x", "MEMBER_SILENT", t(2, 16)),  # at the window's end: outside
]


# (table, id column, id) of the rows stored twice.
DUPLICATED = [
    ("events", "event_id", "e8"),  # m1's signup
    ("engagement_scores", "update_id", "m1:u2"),
    ("relationship_edges", "edge_id", "edge2"),  # x -> m5
    ("churn_triggers", "trigger_id", "n1-usage"),
]


def _event_rows() -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"e{i}",
            "event_type": kind,
            "area": "community" if kind in COMMUNITY else "product",
            "occurred_at": when,
            "canonical_id": user,
            **extra,
        }
        for i, (user, kind, when, extra) in enumerate(EVENTS)
    ]


def _score_rows() -> list[dict[str, Any]]:
    return [
        {
            "update_id": f"{user}:u{count}",
            "canonical_id": user,
            "orbit_level": level,
            "is_member": level > 0,
            "event_count": count,
            "as_of": when,
            "source_occurred_at": when,
        }
        for user, level, when, count in SCORES
    ]


def _edge_rows() -> list[dict[str, Any]]:
    return [
        {
            "edge_id": f"edge{i}",
            "from_canonical_id": a,
            "to_canonical_id": b,
            "kind": kind,
            "occurred_at": when,
        }
        for i, (a, b, kind, when) in enumerate(EDGES)
    ]


def _trigger_rows() -> list[dict[str, Any]]:
    return [
        {
            "trigger_id": tid,
            "canonical_id": user,
            "reason": reason,
            "fired_at": when,
            "episode_started_at": when,
        }
        for tid, user, reason, when in TRIGGERS
    ]


def _insert(client: Any, table: str, rows: list[dict[str, Any]], loaded: datetime) -> None:
    columns = sorted({c for r in rows for c in r} | {"ingested_at"})
    client.insert(
        table,
        [
            [r[c] if c in r else _default(c) for c in columns]
            for r in ({**r, "ingested_at": loaded} for r in rows)
        ],
        column_names=columns,
    )


def _default(column: str) -> Any:
    return {"plan_change": "", "is_key_feature": False, "status_code": 0, "error_class": "", "post_id": "",
            "ticket_id": "", "is_teammate": False, "provider": "", "external_id": "", "mrr_cents": 0,
            "is_question": False, "step_index": 0, "total_steps": 0}[column]  # fmt: skip


def load(client: Any) -> None:
    """Insert the dataset into a migrated database, with the four duplicates."""
    tables = {
        "events": _event_rows(),
        "engagement_scores": _score_rows(),
        "relationship_edges": _edge_rows(),
        "churn_triggers": _trigger_rows(),
    }
    for table in tables:
        client.command(f"SYSTEM STOP MERGES {table}")  # keep the duplicates stored
    for table, rows in tables.items():
        _insert(client, table, rows, LOADED)
    for table, key, value in DUPLICATED:
        rows = [r for r in tables[table] if r[key] == value]
        assert len(rows) == 1, (table, value)
        _insert(client, table, rows, LOADED + timedelta(hours=1))  # a later re-delivery
