"""Account facts the events carry without an account field: the plan and the team.

Plan: the ``to_plan`` of the user's latest PlanChanged (none after a CANCEL). Team: the
domain of a work email identity the user was seen with (personal mail domains name no
team); with several, the alphabetically first, so the result is the same whatever order
the two inputs were read in.
"""

from __future__ import annotations

from foundation.account_settings import AccountSettings
from schemas.models import Event, Identity, IdentityProvider, PlanChange, PlanChanged
from streams.state import UserState


def team_of(identity: Identity, cfg: AccountSettings) -> str | None:
    """The work email domain of ``identity``, or None (not an email, or a personal domain)."""
    if identity.provider is not IdentityProvider.EMAIL:
        return None
    _, at, domain = identity.external_id.strip().lower().rpartition("@")
    if not at or not domain or domain in cfg.personal_email_domains:
        return None
    return domain


def note_account(state: UserState, event: Event, cfg: AccountSettings) -> UserState:
    """The state with the event's plan change and team, if it carries either."""
    update: dict[str, object] = {}
    team = team_of(event.identity, cfg)
    if team is not None and (state.team is None or team < state.team):
        update["team"] = team
    if isinstance(event, PlanChanged):
        if event.payload.change is PlanChange.CANCEL:
            update["plan"] = None
        elif event.payload.to_plan:
            update["plan"] = event.payload.to_plan
    return state.model_copy(update=update) if update else state
