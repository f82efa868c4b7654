"""Settings of the account view: plans and their limits, teams, and the health formula.

Sections of :class:`foundation.settings.StreamSettings` (``streams.accounts``, ``streams.health``),
kept beside it so the one settings tree stays readable. Formula: docs/health.md.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _plan_limits() -> dict[str, float]:
    return {"free": 20.0, "starter": 200.0, "team": 1000.0, "business": 5000.0}


def _personal_email_domains() -> tuple[str, ...]:
    return (
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "aol.com",
    )


class AccountSettings(_Section):
    """What an account is made of where the events carry no account field."""

    plan_daily_event_limits: dict[str, float] = Field(
        default_factory=_plan_limits,
        description=(
            "Per plan (PlanChanged to_plan): the product events per day the plan is sized for; "
            "plans not listed have no limit (no expansion signal)."
        ),
    )
    personal_email_domains: tuple[str, ...] = Field(
        default_factory=_personal_email_domains,
        description=(
            "Email domains that name no team: users share a team when they share the domain of a "
            "work email identity (any other domain)."
        ),
    )


class HealthSettings(_Section):
    """Account health: usage against the user's own baseline, orbit level, open churn risks.

    The usage windows are the usage-drop trigger's (``streams.triggers.usage_*``).
    """

    usage_weight: float = Field(default=0.5, ge=0, le=1, description="Weight of the usage component.")
    community_weight: float = Field(default=0.2, ge=0, le=1, description="Weight of the community component.")
    risk_weight: float = Field(default=0.3, ge=0, le=1, description="Weight of the risk component.")
    orbit_level_scores: tuple[float, float, float, float] = Field(
        default=(1.0, 0.75, 0.5, 0.25),
        description="Community component of orbit levels 1 (inner) .. 4 (outer); outside the community: 0.",
    )
    risk_penalty: float = Field(
        default=0.25, ge=0, le=1, description="Taken off the risk component per open churn-risk episode."
    )
    expansion_usage_share: float = Field(
        default=0.8,
        gt=0,
        description="Expansion signal from this share of the plan's daily limit (recent use per day).",
    )
    expansion_max_orbit_level: int = Field(
        default=2, ge=1, le=4, description="Orbit levels 1..this count as inner for the expansion signal."
    )

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> HealthSettings:
        total = self.usage_weight + self.community_weight + self.risk_weight
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"usage_weight + community_weight + risk_weight must be 1, not {total:g}")
        return self
