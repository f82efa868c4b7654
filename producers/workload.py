"""Synthetic workload: realistic product + community events for a population, deterministic per seed.

Used by the demo, the tests and the benchmarks. ``generate`` yields events in occurred_at
order (simulated time); ``paced`` sends them at a wall-clock rate when driving live.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from producers.population import Kind, Persona, WorkloadConfig, build_population
from schemas import models
from schemas.identity import IdentityProvider

__all__ = ["WorkloadConfig", "generate", "paced"]


class _Day:
    """Builds one simulated day's events with ids and times drawn from the seeded rng."""

    def __init__(self, cfg: WorkloadConfig, rng: random.Random, day: int) -> None:
        self.cfg, self.rng, self.day = cfg, rng, day
        self.out: list[models.Event] = []

    def at(self, hour: float | None = None) -> datetime:
        hour = self.rng.uniform(7, 22) if hour is None else hour
        return self.cfg.start + timedelta(days=self.day, hours=hour)

    def ident(self, provider: str, external_id: str) -> models.Identity:
        return models.Identity(provider=IdentityProvider(provider), external_id=external_id)

    def emit(self, name: str, identity: models.Identity, when: datetime, source: str, **payload: Any) -> None:
        cls = getattr(models, name)
        self.out.append(
            cls(
                event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                occurred_at=when,
                source=source,
                identity=identity,
                payload=cls.model_fields["payload"].annotation(**payload),
            )
        )

    def link(self, first: models.Identity, second: models.Identity, when: datetime) -> None:
        self.out.append(
            models.IdentityLink(
                event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                occurred_at=when,
                source="sso",
                identity=first,
                linked_identity=second,
            )
        )


def _activity_today(p: Persona, day: int, rng: random.Random) -> int:
    if day < p.signup_day:
        return 0
    rate = p.daily_rate
    if p.churn_day is not None and day >= p.churn_day:
        rate *= 0.5 ** (day - p.churn_day + 1)  # product use decays, then stops
    if rng.random() < 2 / 7:  # weekends and days off
        rate *= 0.3
    return sum(1 for _ in range(int(rate * 2)) if rng.random() < 0.5)


def _signup(d: _Day, p: Persona) -> None:
    product, email = d.ident("product", p.product_id), d.ident("email", p.email)
    when = d.at(9 + p.index % 8)
    d.link(product, email, when)
    d.emit(
        "PlanChanged",
        product,
        when + timedelta(seconds=1),
        "product-backend",
        change="SIGNUP",
        to_plan="free",
    )
    if p.sso:
        d.link(email, d.ident("sso", p.sso), when + timedelta(minutes=5))
    if p.is_member:
        who = d.ident("github", p.github) if p.github else email
        d.emit(
            "MemberJoined",
            who,
            when + timedelta(hours=2),
            "forum",
            community="forum",
            is_teammate=p.kind is Kind.TEAMMATE,
        )
        if p.github:  # connected later: some community activity arrives before the link
            d.link(email, who, when + timedelta(hours=26))


def _product_day(d: _Day, p: Persona, n: int, state: dict[str, Any]) -> None:
    product = d.ident("product", p.product_id)
    rng = d.rng
    for _ in range(n):
        when = d.at()
        roll = rng.random()
        if roll < 0.25:
            d.emit(
                "SessionStarted",
                product,
                when,
                "product-backend",
                session_id=f"s{rng.getrandbits(32):x}",
                platform=rng.choice(["web", "web", "desktop", "api"]),
            )
        elif roll < 0.6:
            valued: set[int] = state.setdefault("valued", set())
            first_value = p.index not in valued and rng.random() < 0.3  # first key-feature use
            if first_value:
                valued.add(p.index)
            d.emit(
                "FeatureUsed",
                product,
                when,
                "product-backend",
                feature=rng.choice(["dashboards", "alerts", "exports", "workflows"]),
                is_key_feature=first_value,
            )
        else:
            failed = rng.random() < d.cfg.api_error_rate * (3 if p.kind is Kind.CHURNER else 1)
            error = rng.choice(d.cfg.error_classes) if failed else None
            d.emit(
                "ApiCall",
                product,
                when,
                "api-gateway",
                endpoint=rng.choice(["/v1/events", "/v1/users"]),
                status_code=rng.choice([401, 429, 500]) if failed else 200,
                error_class=error,
                latency_ms=rng.randint(5, 400),
            )
            if error:
                state.setdefault("errors", []).append((p, error, when))


def _community_day(d: _Day, p: Persona, members: list[Persona], state: dict[str, Any]) -> None:
    rng = d.rng
    who = d.ident("github", p.github) if p.github and d.day > p.signup_day + 1 else d.ident("email", p.email)
    for _ in range(rng.randint(0, 3 if p.kind is Kind.POWER else 1)):
        other = rng.choice(members)
        if other is p:
            continue
        other_id = d.ident("email", other.email)
        roll = rng.random()
        when = d.at()
        if roll < 0.4:
            d.emit(
                "ReplyCreated",
                who,
                when,
                "forum",
                reply_id=f"r{rng.getrandbits(40):x}",
                post_id=f"p{rng.getrandbits(40):x}",
                post_author=other_id,
            )
        elif roll < 0.7:
            d.emit(
                "ReactionAdded",
                who,
                when,
                "forum",
                post_id=f"p{rng.getrandbits(40):x}",
                reaction="+1",
                target_author=other_id,
            )
        elif roll < 0.85:
            d.emit("Mention", who, when, "discord", post_id=f"p{rng.getrandbits(40):x}", mentioned=other_id)
        else:
            d.emit("EventAttended", who, when, "events", event_name="office hours", kind="office_hours")


def _onboarding(d: _Day, p: Persona) -> None:
    steps = d.cfg.onboarding_steps
    done_by_day = steps if p.finishes_onboarding else steps // 2
    step = d.day - p.signup_day + 1
    if 1 <= step <= done_by_day:
        d.emit(
            "OnboardingStepCompleted",
            d.ident("product", p.product_id),
            d.at(10),
            "product-backend",
            step=f"step-{step}",
            step_index=step,
            total_steps=steps,
        )


def _questions(d: _Day, state: dict[str, Any], members: list[Persona]) -> None:
    """API errors today: members ask the community, others open support tickets."""
    rng = d.rng
    helpers = [m for m in members if m.kind in (Kind.POWER, Kind.TEAMMATE)] or members
    for p, error, when in state.pop("errors", []):
        if rng.random() > 0.4:
            continue
        if not p.is_member:
            ticket = f"t{rng.getrandbits(32):x}"
            product = d.ident("product", p.product_id)
            d.emit(
                "SupportTicketOpened",
                product,
                when + timedelta(minutes=20),
                "helpdesk",
                ticket_id=ticket,
                subject=f"API error {error}",
                topic=error,
            )
            d.emit(
                "SupportTicketClosed",
                product,
                when + timedelta(hours=20),
                "helpdesk",
                ticket_id=ticket,
                resolution="resolved",
            )
            continue
        asker = d.ident("email", p.email)
        post = f"q{rng.getrandbits(40):x}"
        d.emit(
            "PostCreated",
            asker,
            when + timedelta(minutes=10),
            "forum",
            post_id=post,
            channel="help",
            title=f"Getting {error}",
            is_question=True,
            tags=[error],
        )
        d.emit("QuestionTagged", asker, when + timedelta(minutes=11), "forum", post_id=post, tags=[error])
        answerer = rng.choice(helpers)
        if answerer is p or rng.random() > d.cfg.answer_rate:
            continue  # unanswered
        answerer_id = d.ident("email", answerer.email)
        reply = f"r{rng.getrandbits(40):x}"
        d.emit(
            "ReplyCreated",
            answerer_id,
            when + timedelta(hours=2),
            "forum",
            reply_id=reply,
            post_id=post,
            post_author=asker,
        )
        d.emit(
            "AnswerAccepted",
            answerer_id,
            when + timedelta(hours=3),
            "forum",
            post_id=post,
            reply_id=reply,
            asker=asker,
            tags=[error],
        )


def generate(cfg: WorkloadConfig) -> Iterator[models.Event]:
    """Every event of the simulated period, in occurred_at order."""
    rng = random.Random(cfg.seed)  # noqa: S311 - simulation, seeded for repeatability
    people = build_population(cfg, rng)
    members = [p for p in people if p.is_member]
    state: dict[str, Any] = {}
    # Events a day schedules past its end (a ticket closed tomorrow) wait for their day.
    pending: list[models.Event] = []
    for day in range(cfg.days):
        d = _Day(cfg, rng, day)
        for p in people:
            if day == p.signup_day:
                _signup(d, p)
            if day >= p.signup_day:
                _onboarding(d, p)
                _product_day(d, p, _activity_today(p, day, rng), state)
                active = p.churn_day is None or day < p.churn_day + 3
                if p.is_member and active and day > p.signup_day:
                    _community_day(d, p, members, state)
        _questions(d, state, members)
        day_end = cfg.start + timedelta(days=day + 1)
        # At one instant a link goes first, as a service sends it (a signup links the accounts
        # before its first events): the workers apply a link to the events at its own time.
        ready = sorted(
            [*pending, *d.out],
            key=lambda e: (e.occurred_at, not isinstance(e, models.IdentityLink), e.event_id),
        )
        pending = [e for e in ready if e.occurred_at >= day_end]
        yield from (e for e in ready if e.occurred_at < day_end)
    yield from pending


def paced(events: Iterable[models.Event], rate: float) -> Iterator[models.Event]:
    """Yield ``events`` at about ``rate`` per second of wall-clock time (no drift)."""
    interval = 1.0 / rate if rate > 0 else 0.0
    started = time.perf_counter()
    for i, event in enumerate(events):
        due = started + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield event
