"""Account health on the real broker and warehouse: worker running, events in, exact
health outputs on the topic and in ClickHouse (formula: docs/health.md)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.identity import deterministic_canonical_id
from schemas.topics import ACCOUNT_HEALTH, ENGAGEMENT_SCORES
from sinks.migrate import apply_migrations
from sinks.runner import Sink
from tests.fixtures import events as ev
from tests.fixtures.streams import Pipeline, send_events
from tests.integration.sinks.helpers import run_until

pytestmark = pytest.mark.integration

# Explicit so the numbers below don't move with the defaults.
STREAMS = {
    "triggers": {
        "usage_recent_days": 3,
        "usage_baseline_days": 14,
        "usage_min_baseline_per_day": 1.0,
        "api_error_streak": 3,
    },
    "orbit": {"activity_weights": {"MemberJoined": 1, "AnswerAccepted": 8}, "weight_thresholds": [8, 5, 3]},
    "health": {
        "usage_weight": 0.5,
        "community_weight": 0.2,
        "risk_weight": 0.3,
        "orbit_level_scores": [1.0, 0.75, 0.5, 0.25],
        "risk_penalty": 0.25,
        "expansion_usage_share": 0.8,
        "expansion_max_orbit_level": 2,
    },
    # A small plan so a few events come near its limit.
    "accounts": {"plan_daily_event_limits": {"free": 2.0}},
}


def cid(uid: str) -> str:
    return deterministic_canonical_id("product", uid)


def one_by_one(pipeline: Pipeline, events: list[Any]) -> None:
    """Send each event once the one before it is scored: the two inputs are read by
    separate fetches, so only this makes the fold order (and so every output) exact."""
    for n, event in enumerate(events, start=1):
        send_events(pipeline.settings, [event])
        assert len(pipeline.read(ENGAGEMENT_SCORES, expect=n, timeout=30)) >= n


def test_health_is_emitted_on_change_with_its_components_and_lands_in_the_warehouse(
    pipeline_factory, warehouse, ch_database
) -> None:
    pipeline = pipeline_factory(
        partitions=1, streams=STREAMS, warehouse={"port": warehouse.port, "database": ch_database}
    )
    pipeline.start_workers(1)
    ada, bob = ev.product("ada"), ev.product("bob")
    events = [
        ev.make("PlanChanged", ada, ev.at(0), change="SIGNUP", to_plan="free", mrr_cents=0),
        ev.make("MemberJoined", ada, ev.at(1), community="forum"),
        *(ev.make("FeatureUsed", ada, ev.at(2 + i), feature="f") for i in range(4)),
        ev.make("AnswerAccepted", ada, ev.at(6), post_id="p", reply_id="r", tags=["x"]),
        *(
            ev.make(
                "ApiCall", bob, ev.at(7 + i), endpoint="/q", status_code=500, error_class="E", latency_ms=1
            )
            for i in range(3)
        ),
    ]
    one_by_one(pipeline, events)
    records = pipeline.read(ACCOUNT_HEALTH, expect=8, settle=3.0)
    got = [
        (
            r.value.health_id,
            r.value.health,
            r.value.usage_component,
            r.value.community_component,
            r.value.risk_component,
            r.value.orbit_level,
            r.value.open_risks,
            r.value.plan,
            r.value.plan_usage_share,
            r.value.expansion_signal,
        )
        for r in records
    ]
    a, b = cid("ada"), cid("bob")
    ids = [e.event_id for e in events]
    # Recent window 3 days, no baseline yet: use is measured against 1.0 a day. Plan free: 2.0 a day.
    assert got == [
        # Signup (a product event): 1/3 a day -> usage 1/3, share (1/3)/2. 100*(0.5/3 + 0 + 0.3) = 46.67
        (f"{a}:{ids[0]}", 46.67, 0.333333, 0.0, 1.0, 0, [], "free", 0.166667, False),
        # Joined: orbit level 4 -> 0.25. 100*(0.5/3 + 0.2*0.25 + 0.3) = 51.67
        (f"{a}:{ids[1]}", 51.67, 0.333333, 0.25, 1.0, 4, [], "free", 0.166667, False),
        # Second product event: usage 2/3. 100*(0.5*2/3 + 0.05 + 0.3) = 68.33
        (f"{a}:{ids[2]}", 68.33, 0.666667, 0.25, 1.0, 4, [], "free", 0.333333, False),
        # Third: usage 1 (capped from here on). 100*(0.5 + 0.05 + 0.3) = 85
        (f"{a}:{ids[3]}", 85.0, 1.0, 0.25, 1.0, 4, [], "free", 0.5, False),
        # ids[4], ids[5]: nothing changed but the rate (share 0.67, 0.83 at level 4): no output.
        # Accepted answer: weight 8 -> level 1; 5/3 a day is 0.83 of the plan: expansion.
        (f"{a}:{ids[6]}", 100.0, 1.0, 1.0, 1.0, 1, [], "free", 0.833333, True),
        # bob, no plan, not in the community: failed calls are use too (1/3, 2/3, 1 a day).
        (f"{b}:{ids[7]}", 46.67, 0.333333, 0.0, 1.0, 0, [], None, None, False),
        (f"{b}:{ids[8]}", 63.33, 0.666667, 0.0, 1.0, 0, [], None, None, False),
        # Third failure in a row opens API_ERRORS: risk 0.75. 100*(0.5 + 0 + 0.3*0.75) = 72.5
        (f"{b}:{ids[9]}", 72.5, 1.0, 0.0, 0.75, 0, ["API_ERRORS"], None, None, False),
    ]
    assert all(r.key == r.value.canonical_id.encode() for r in records)

    client = warehouse.client(database=ch_database)
    apply_migrations(client, ch_database)
    run_until(Sink(pipeline.settings), lambda s: s.rows_written["account_health"] >= 8, 60)
    rows = client.query(
        "SELECT health_id, health, usage_component, community_component, risk_component, orbit_level, "
        "open_risks, plan, plan_usage_share, expansion_signal FROM account_health_final ORDER BY as_of"
    ).result_rows
    assert [tuple(r) for r in rows] == [(*g[:6], g[6], *g[7:]) for g in got]
    latest = client.query(
        "SELECT canonical_id, health, expansion_signal, open_risks FROM account_health_latest ORDER BY health"
    ).result_rows
    assert latest == [(b, 72.5, False, ["API_ERRORS"]), (a, 100.0, True, [])]
