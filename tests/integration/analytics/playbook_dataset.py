"""A second hand-built warehouse, for the playbook analyses (revenue, lifetime value,
first-week onboarding, segments, transactional vs relational, connections, mentor
outcome): every row is written out here, and the tests work their numbers out by hand.

The groups of users barely touch each other's analyses, which keeps the arithmetic short:
- r1..r5: plan changes (revenue, lifetime value). r1 and r2 joined the community in January.
- o1..o5: joined the community in January (o5: April) and did, or did not, finish the
  three-step onboarding sequence; their activity sits around day 30 and day 90.
- s1..s5: active around the window (segments, interactions); s1-s3 members since Jan 2.
- c1..c3: Orbit levels and relationship edges only (connections).
- g1..g3 got mentor suggestions in April-May; h1..h3 hit errors without one; mentor1 answers.
- staff: a teammate, everywhere and excluded everywhere.

Window: A = [Feb 23, Mar 2) precedes P0 = [Mar 2, Mar 9) and P1 = [Mar 9, Mar 16).
AS_OF = Jun 1. Duplicates (stored twice, as a re-delivery leaves them): r1's upgrade, the
c1 -> c2 mention edge and g1's mentor suggestion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.params import Window
from tests.integration.analytics.dataset import _insert

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
WINDOW = Window(start=datetime(2026, 3, 2, tzinfo=UTC), end=datetime(2026, 3, 16, tzinfo=UTC))
LOADED = datetime(2026, 6, 2, tzinfo=UTC)


def t(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


Event = tuple[str, str, datetime, dict[str, Any]]  # (user, event_type, time, extra columns)


def daily(user: str, kind: str, first: datetime, days: int) -> list[Event]:
    return [(user, kind, first + timedelta(days=i), {}) for i in range(days)]


def plan(change: str, mrr_cents: int) -> dict[str, Any]:
    return {"plan_change": change, "mrr_cents": mrr_cents}


def step(index: int) -> dict[str, Any]:
    return {"step_index": index, "total_steps": 3}


def failed(error_class: str, status: int = 401) -> dict[str, Any]:
    return {"status_code": status, "error_class": error_class}


OK = {"status_code": 200}
QUESTION = {"is_question": True}

EVENTS: list[Event] = [
    ("staff", "MemberJoined", t(1, 2), {"is_teammate": True}),
    ("staff", "SessionStarted", t(2, 24), {}),
    ("staff", "SessionStarted", t(3, 3), {}),
    ("staff", "ReplyCreated", t(3, 4), {"post_id": "p-s3"}),
    ("staff", "ApiCall", t(4, 9), failed("auth.invalid_token")),
    # Revenue
    ("r1", "PlanChanged", t(1, 5), plan("SIGNUP", 1000)),
    ("r1", "MemberJoined", t(1, 5, 1), {}),
    ("r1", "PlanChanged", t(3, 4), plan("UPGRADE", 3000)),  # stored twice
    ("r2", "PlanChanged", t(1, 6), plan("SIGNUP", 2000)),
    ("r2", "MemberJoined", t(1, 6, 1), {}),
    ("r2", "PlanChanged", t(3, 10), plan("DOWNGRADE", 500)),
    ("r3", "PlanChanged", t(1, 7), plan("SIGNUP", 4000)),
    ("r3", "PlanChanged", t(3, 3), plan("CANCEL", 0)),
    ("r4", "PlanChanged", t(3, 5), plan("SIGNUP", 1500)),
    ("r4", "PlanChanged", t(3, 11), plan("UPGRADE", 2500)),
    ("r5", "PlanChanged", t(1, 8), plan("SIGNUP", 0)),  # a free plan
    # First-week onboarding
    ("o1", "MemberJoined", t(1, 12), {}),
    ("o1", "OnboardingStepCompleted", t(1, 12, 6), step(1)),
    ("o1", "OnboardingStepCompleted", t(1, 13), step(2)),
    ("o1", "OnboardingStepCompleted", t(1, 14), step(3)),
    ("o1", "SessionStarted", t(2, 5), {}),
    ("o1", "SessionStarted", t(4, 6), {}),
    ("o2", "MemberJoined", t(1, 12), {}),
    ("o2", "OnboardingStepCompleted", t(1, 18, 23), step(3)),  # 6 days 23 hours after joining
    ("o2", "SessionStarted", t(2, 5), {}),
    ("o3", "MemberJoined", t(1, 12), {}),
    ("o3", "OnboardingStepCompleted", t(1, 20), step(3)),  # 8 days: late
    ("o3", "SessionStarted", t(2, 6), {}),
    ("o3", "SessionStarted", t(4, 7), {}),
    ("o4", "MemberJoined", t(1, 12), {}),
    ("o4", "OnboardingStepCompleted", t(1, 12, 6), step(1)),
    ("o4", "OnboardingStepCompleted", t(1, 13), step(2)),  # never the third
    ("o5", "MemberJoined", t(4, 1), {}),
    ("o5", "OnboardingStepCompleted", t(4, 2), step(3)),
    ("o5", "SessionStarted", t(4, 28), {}),
    # Segments and interactions
    ("s1", "MemberJoined", t(1, 2), {}),
    ("s1", "ApiCall", t(2, 10, 8), OK),
    *daily("s1", "SessionStarted", t(2, 10, 9), 34),  # Feb 10 .. Mar 15
    ("s1", "EventAttended", t(3, 4), {}),
    ("s1", "Mention", t(3, 5), {}),
    ("s1", "ReplyCreated", t(3, 10, 10), {"post_id": "q-s3"}),
    ("s1", "SupportTicketOpened", t(3, 12), {"ticket_id": "tk2"}),
    ("s1", "PostCreated", t(3, 14), {"post_id": "q-s1", **QUESTION}),
    ("s2", "MemberJoined", t(1, 2), {}),
    ("s2", "ApiCall", t(2, 16, 8), OK),
    *daily("s2", "SessionStarted", t(2, 16, 9), 10),  # Feb 16 .. Feb 25
    ("s3", "MemberJoined", t(1, 2), {}),
    ("s3", "FeatureUsed", t(2, 26), {"is_key_feature": True}),
    ("s3", "PostCreated", t(3, 3, 10), {"post_id": "p-s3"}),
    ("s3", "ReplyCreated", t(3, 3, 11), {"post_id": "p-s3"}),  # on its own post
    ("s3", "ReplyCreated", t(3, 7, 10), {"post_id": "q-s4b"}),
    ("s3", "AnswerAccepted", t(3, 7, 12), {"post_id": "q-s4b"}),
    ("s3", "PostCreated", t(3, 10, 8), {"post_id": "q-s3", **QUESTION}),
    ("s3", "Mention", t(3, 10, 9), {}),
    ("s4", "ApiCall", t(2, 27), failed("server.error", 500)),
    ("s4", "SupportTicketOpened", t(3, 4), {"ticket_id": "tk1"}),
    ("s4", "PostCreated", t(3, 5), {"post_id": "q-s4", **QUESTION}),
    ("s4", "PostCreated", t(3, 6, 10), {"post_id": "q-s4b", **QUESTION}),
    ("s5", "ApiCall", t(2, 28), OK),
    # Mentor outcome
    ("g1", "ApiCall", t(4, 10, 11), failed("auth.invalid_token")),
    ("g1", "PostCreated", t(4, 10, 13), {"post_id": "q-g1", **QUESTION}),
    ("g1", "ApiCall", t(4, 12), OK),
    ("g1", "SessionStarted", t(5, 8), {}),
    ("mentor1", "AnswerAccepted", t(4, 11), {"post_id": "q-g1"}),
    ("mentor1", "AnswerAccepted", t(4, 30), {"post_id": "q-h2"}),
    ("g2", "ApiCall", t(4, 19, 23), failed("rate_limit.exceeded", 429)),
    ("g2", "ApiCall", t(4, 21), OK),
    ("g2", "ApiCall", t(4, 22), failed("rate_limit.exceeded", 429)),
    ("g3", "ApiCall", t(5, 28), failed("auth.invalid_token")),
    ("h1", "ApiCall", t(4, 10, 9), failed("auth.invalid_token")),
    ("h1", "ApiCall", t(4, 11), OK),
    ("h1", "SessionStarted", t(5, 8), {}),
    ("h2", "ApiCall", t(4, 15), failed("rate_limit.exceeded", 429)),
    ("h2", "PostCreated", t(4, 15, 1), {"post_id": "q-h2", **QUESTION}),
    ("h3", "ApiCall", t(4, 15), failed("webhook.timeout", 504)),
]

COMMUNITY = {"MemberJoined", "OnboardingStepCompleted", "PostCreated", "ReplyCreated", "AnswerAccepted",
             "Mention", "EventAttended"}  # fmt: skip

# (user, orbit_level, as_of)
SCORES: list[tuple[str, int, datetime]] = [
    ("staff", 0, t(2, 1)),
    ("s1", 1, t(2, 1)),
    ("s2", 2, t(2, 1)),
    ("s3", 3, t(2, 1)),
    ("s3", 2, t(3, 5)),
    ("c1", 2, t(2, 1)),
    ("c2", 4, t(2, 1)),
    ("c3", 3, t(3, 10)),
]

# (from, to, kind, occurred_at)
EDGES: list[tuple[str, str, str, datetime]] = [
    ("s3", "s1", "REPLY", t(2, 20)),
    ("s1", "s3", "ANSWER", t(3, 1)),  # the same pair the other way
    ("s2", "c1", "REACTION", t(3, 3)),  # not a conversation
    ("c1", "c2", "MENTION", t(3, 10)),  # stored twice
    ("c3", "s1", "REPLY", t(3, 12)),
    ("s2", "s2", "MENTION", t(3, 4)),  # self
    ("staff", "s2", "REPLY", t(3, 4)),  # staff has level 0
    ("s4", "s2", "REPLY", t(3, 6)),  # s4 has no level
    ("s2", "c1", "REPLY", datetime(2025, 11, 20, tzinfo=UTC)),  # more than 90 days before
]

# (suggestion_id, user, error_class, suggested_at)
SUGGESTIONS: list[tuple[str, str, str, datetime]] = [
    ("sg-g1", "g1", "auth.invalid_token", t(4, 10, 12)),  # stored twice
    ("sg-g2a", "g2", "rate_limit.exceeded", t(4, 20)),
    ("sg-g2b", "g2", "auth.invalid_token", t(5, 1)),  # g2's second: the first one counts
    ("sg-g3", "g3", "auth.invalid_token", t(5, 28)),
    ("sg-staff", "staff", "auth.invalid_token", t(4, 10)),
]


def _rows() -> dict[str, list[dict[str, Any]]]:
    events = [
        {
            "event_id": f"pb{i}",
            "event_type": kind,
            "area": "community" if kind in COMMUNITY else "product",
            "occurred_at": when,
            "canonical_id": user,
            **extra,
        }
        for i, (user, kind, when, extra) in enumerate(EVENTS)
    ]
    scores = [
        {"update_id": f"{user}:{i}", "canonical_id": user, "orbit_level": level, "is_member": level > 0,
         "event_count": i, "as_of": when, "source_occurred_at": when}
        for i, (user, level, when) in enumerate(SCORES)
    ]  # fmt: skip
    edges = [
        {"edge_id": f"pb-edge{i}", "from_canonical_id": a, "to_canonical_id": b, "kind": kind,
         "occurred_at": when}
        for i, (a, b, kind, when) in enumerate(EDGES)
    ]  # fmt: skip
    suggestions = [
        {"suggestion_id": sid, "canonical_id": user, "error_class": error_class, "suggested_at": when,
         "source_occurred_at": when}
        for sid, user, error_class, when in SUGGESTIONS
    ]  # fmt: skip
    return {
        "events": events,
        "engagement_scores": scores,
        "relationship_edges": edges,
        "mentor_suggestions": suggestions,
    }


def _is_duplicated(table: str, row: dict[str, Any]) -> bool:
    if table == "events":
        return (row["canonical_id"], row["event_type"], row["occurred_at"]) == ("r1", "PlanChanged", t(3, 4))
    if table == "relationship_edges":
        return (row["from_canonical_id"], row["to_canonical_id"]) == ("c1", "c2")
    return table == "mentor_suggestions" and row["suggestion_id"] == "sg-g1"


def load(client: Any) -> None:
    """Insert the dataset into a migrated database, with the three duplicates."""
    tables = _rows()
    for table in tables:
        client.command(f"SYSTEM STOP MERGES {table}")  # keep the duplicates stored
    for table, rows in tables.items():
        _insert(client, table, rows, LOADED)
    for table, rows in tables.items():
        again = [r for r in rows if _is_duplicated(table, r)]
        if again:
            _insert(client, table, again, LOADED + timedelta(hours=1))  # a later re-delivery
