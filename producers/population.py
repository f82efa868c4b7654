"""The synthetic population: who the users are and how they behave (deterministic per seed)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class WorkloadConfig(BaseModel):
    """Behaviour parameters. Members churn less than non-members: the claim analysts test."""

    model_config = ConfigDict(frozen=True)

    users: int = Field(default=200, ge=1)
    days: int = Field(default=28, ge=1)
    seed: int = 7
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: weekly cohorts start here
    signup_weeks: int = Field(default=2, ge=1, description="Signups spread over this many weekly cohorts.")
    member_share: float = Field(default=0.45, ge=0, le=1)
    power_share: float = Field(default=0.12, ge=0, le=1)
    churn_share_members: float = Field(default=0.12, ge=0, le=1)
    churn_share_non_members: float = Field(default=0.35, ge=0, le=1)
    github_share: float = Field(default=0.4, ge=0, le=1)
    sso_share: float = Field(default=0.25, ge=0, le=1)
    teammates: int = Field(default=2, ge=0)
    api_error_rate: float = Field(default=0.08, ge=0, le=1)
    answer_rate: float = Field(default=0.7, ge=0, le=1)
    onboarding_steps: int = Field(default=4, ge=1)
    onboarding_dropout: float = Field(default=0.3, ge=0, le=1)
    error_classes: tuple[str, ...] = (
        "auth.invalid_token",
        "rate_limit.exceeded",
        "webhook.timeout",
        "schema.validation_failed",
    )


class Kind(StrEnum):
    POWER = "power"
    REGULAR = "regular"
    CHURNER = "churner"
    TEAMMATE = "teammate"


@dataclass
class Persona:
    index: int
    kind: Kind
    is_member: bool
    signup_day: int
    product_id: str
    email: str
    github: str | None
    sso: str | None
    churn_day: int | None = None  # product use decays from here
    finishes_onboarding: bool = True
    answered_classes: set[str] = field(default_factory=set)

    @property
    def daily_rate(self) -> float:
        return {Kind.POWER: 10.0, Kind.REGULAR: 4.0, Kind.CHURNER: 4.0, Kind.TEAMMATE: 2.0}[self.kind]


def build_population(cfg: WorkloadConfig, rng: random.Random) -> list[Persona]:
    people = []
    for i in range(cfg.users):
        teammate = i < cfg.teammates
        member = teammate or rng.random() < cfg.member_share
        churn_share = cfg.churn_share_members if member else cfg.churn_share_non_members
        roll = rng.random()
        if teammate:
            kind = Kind.TEAMMATE
        elif roll < cfg.power_share:
            kind = Kind.POWER
        elif roll < cfg.power_share + churn_share:
            kind = Kind.CHURNER
        else:
            kind = Kind.REGULAR
        signup_day = 0 if teammate else rng.randrange(min(cfg.days, 7 * cfg.signup_weeks))
        person = Persona(
            index=i,
            kind=kind,
            is_member=member,
            signup_day=signup_day,
            product_id=f"u{i:05d}",
            email=f"user{i}@{'orbit.dev' if teammate else 'example.com'}",
            github=f"gh-user{i}" if rng.random() < cfg.github_share else None,
            sso=f"idp|{i:05d}" if rng.random() < cfg.sso_share else None,
            finishes_onboarding=rng.random() >= cfg.onboarding_dropout,
        )
        if kind is Kind.CHURNER:
            person.churn_day = signup_day + rng.randint(5, 12)
        people.append(person)
    return people
