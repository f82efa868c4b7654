"""One record of every type the sink loads, with every typed field set (shared by sink tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import models
from schemas.identity import IdentityProvider

T0 = datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)


def ident(provider: str, external_id: str) -> models.Identity:
    return models.Identity(provider=IdentityProvider(provider), external_id=external_id)


def envelope(n: int, canonical: str = "c-ada", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"e-{n}",
        "occurred_at": T0 + timedelta(minutes=n),
        "sent_at": T0 + timedelta(minutes=n, seconds=1),
        "source": "tests",
        "identity": ident("product", "ada-7"),
        "canonical_id": canonical,
        **extra,
    }


def product_events(base: int = 0) -> list[models.Event]:
    e = lambda i: envelope(base + i)  # noqa: E731 - terse on purpose
    return [
        models.FeatureUsed(
            **e(1), payload=models.FeatureUsedPayload(feature="dashboards", is_key_feature=True)
        ),
        models.ApiCall(
            **e(2),
            payload=models.ApiCallPayload(
                endpoint="/v1/query", status_code=401, error_class="auth.invalid_token", latency_ms=35
            ),
        ),
        models.SessionStarted(**e(3), payload=models.SessionStartedPayload(session_id="s-1", platform="web")),
        models.PlanChanged(
            **e(4),
            payload=models.PlanChangedPayload(
                change=models.PlanChange.UPGRADE, from_plan="free", to_plan="team", mrr_cents=4900
            ),
        ),
        models.SupportTicketOpened(
            **e(5), payload=models.SupportTicketOpenedPayload(ticket_id="t-1", subject="Login?", topic="auth")
        ),
        models.SupportTicketClosed(
            **e(6), payload=models.SupportTicketClosedPayload(ticket_id="t-1", resolution="solved")
        ),
    ]


def community_events(base: int = 100) -> list[models.Event]:
    def e(i: int) -> dict[str, Any]:
        return envelope(base + i) | {"identity": ident("email", "ada@example.com")}

    bob = ident("github", "bob")
    return [
        models.MemberJoined(**e(1), payload=models.MemberJoinedPayload(community="forum", is_teammate=True)),
        models.PostCreated(
            **e(2),
            payload=models.PostCreatedPayload(
                post_id="p-1", channel="help", title="Token?", is_question=True, tags=["auth", "token"]
            ),
        ),
        models.ReplyCreated(
            **e(3), payload=models.ReplyCreatedPayload(reply_id="r-1", post_id="p-1", post_author=bob)
        ),
        models.AnswerAccepted(
            **e(4),
            payload=models.AnswerAcceptedPayload(post_id="p-1", reply_id="r-1", asker=bob, tags=["auth"]),
        ),
        models.QuestionTagged(**e(5), payload=models.QuestionTaggedPayload(post_id="p-1", tags=["sso"])),
        models.ReactionAdded(
            **e(6), payload=models.ReactionAddedPayload(post_id="p-1", reaction="+1", target_author=bob)
        ),
        models.Mention(**e(7), payload=models.MentionPayload(post_id="p-1", mentioned=bob)),
        models.OnboardingStepCompleted(
            **e(8), payload=models.OnboardingStepCompletedPayload(step="profile", step_index=2, total_steps=5)
        ),
        models.EventAttended(**e(9), payload=models.EventAttendedPayload(event_name="Meetup", kind="meetup")),
    ]


def link(n: int = 200) -> models.IdentityLink:
    env = envelope(n, canonical="")
    env["canonical_id"] = None
    return models.IdentityLink(**env, linked_identity=ident("email", "ada@example.com"))


def outputs(n: int = 300) -> list[models.AvroModel]:
    at = T0 + timedelta(minutes=n)
    source: dict[str, Any] = {
        "source_event_id": f"e-{n}",
        "source_occurred_at": at,
        "source_sent_at": None,
        "emitted_at": at,
    }
    return [
        models.EngagementScoreUpdate(
            update_id=f"u-{n}",
            canonical_id="c-ada",
            score=7.5,
            product_score=2.5,
            community_score=5.0,
            orbit_level=2,
            previous_orbit_level=3,
            reach=1.25,
            is_member=True,
            event_count=9,
            as_of=at,
            **source,
        ),
        models.ChurnRiskTrigger(
            trigger_id=f"tr-{n}",
            canonical_id="c-ada",
            reason=models.ChurnReason.API_ERRORS,
            evidence={"streak": "3"},
            episode_started_at=at - timedelta(hours=1),
            fired_at=at,
            **source,
        ),
        models.RelationshipEdge(
            edge_id=f"ed-{n}",
            from_canonical_id="c-ada",
            to_canonical_id="c-bob",
            kind=models.EdgeKind.REPLY,
            weight=1.0,
            occurred_at=at,
            **source,
        ),
        models.MentorSuggestion(
            suggestion_id=f"ms-{n}",
            canonical_id="c-ada",
            error_class="auth.invalid_token",
            mentors=[
                models.Mentor(
                    canonical_id="c-bob",
                    solved_count=4,
                    last_solved_at=at - timedelta(days=1),
                    orbit_level=1,
                    is_inner_orbit=True,
                    reason="4 accepted answers",
                ),
                models.Mentor(canonical_id="c-cy", solved_count=1, last_solved_at=at - timedelta(days=2)),
            ],
            suggested_at=at,
            error_count=3,
            first_error_at=at - timedelta(minutes=20),
            **source,
        ),
        models.IdentityMergeRefused(
            refusal_id=f"rf-{n}",
            identity=ident("product", "ada-7"),
            linked_identity=ident("github", "bob"),
            reason="BOTH_HAVE_OTHER_IDENTITIES",
            canonical_id="c-ada",
            linked_canonical_id="c-bob",
            occurred_at=at,
            **source,
        ),
        models.AccountHealth(
            health_id=f"h-{n}",
            canonical_id="c-ada",
            health=62.5,
            usage_component=0.5,
            community_component=0.75,
            risk_component=0.75,
            recent_per_day=1.0,
            baseline_per_day=2.0,
            orbit_level=2,
            open_risks=["API_ERRORS"],
            plan="free",
            plan_usage_share=0.05,
            expansion_signal=False,
            as_of=at,
            **source,
        ),
    ]


def every_record() -> list[models.AvroModel]:
    return [*product_events(), *community_events(), link(), *outputs()]
