"""What the webhook mappings share: deterministic event ids, times, mentions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from schemas import models
from schemas.identity import IdentityProvider

# Event ids of webhook deliveries: uuid5 of "<provider>:<delivery id>:<n>", so a delivery
# sent twice (a redelivery, a retry) maps to the same ids and is counted once.
WEBHOOK_NAMESPACE = uuid.UUID("0c7f3a52-1b7e-4d8e-9a43-5d2e6f1b8c90")

# GitHub logins and Discourse usernames after "@", not inside an address or a path.
_MENTION = re.compile(r"(?<![\w@./`-])@([A-Za-z0-9][\w.-]{0,59})")


def event_id(provider: str, delivery: str, n: int) -> str:
    return str(uuid.uuid5(WEBHOOK_NAMESPACE, f"{provider}:{delivery}:{n}"))


def parse_time(value: Any, fallback: datetime) -> datetime:
    """An ISO-8601 time from a payload (offset kept, as UTC), or ``fallback``."""
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    return fallback


def mentions(text: Any, exclude: Iterable[str] = ()) -> list[str]:
    """Distinct @names in ``text`` in order, trailing dots dropped, ``exclude`` left out."""
    if not isinstance(text, str):
        return []
    skip = {name.lower() for name in exclude}
    found: list[str] = []
    for match in _MENTION.finditer(text):
        if text[match.end() : match.end() + 1] == "/":
            continue  # @org/team names a team, not a person
        name = match.group(1).rstrip(".-")
        if name and name.lower() not in skip and name.lower() not in (f.lower() for f in found):
            found.append(name)
    return found


class Builder:
    """Builds the events of one delivery, numbering them for their ids."""

    def __init__(self, provider: IdentityProvider, delivery: str, source: str, fallback: datetime) -> None:
        self.provider = provider
        self.delivery = delivery
        self.source = source
        self.fallback = fallback
        self.events: list[models.Event] = []

    def identity(self, name: str) -> models.Identity:
        return models.Identity(provider=self.provider, external_id=name)

    def add(self, model: type[models.Event], who: str, when: Any, **payload: Any) -> None:
        payload_model = model.model_fields["payload"].annotation
        assert isinstance(payload_model, type)
        # Every community record has a payload; Event, their base, does not declare it.
        fields = {
            "event_id": event_id(self.provider.value, self.delivery, len(self.events)),
            "occurred_at": parse_time(when, self.fallback),
            "source": self.source,
            "identity": self.identity(who),
            "payload": payload_model(**payload),
        }
        self.events.append(model(**fields))

    def add_mentions(self, who: str, when: Any, post_id: str, text: Any) -> None:
        """A Mention event per @name in ``text`` (not the author's own)."""
        for name in mentions(text, exclude=[who]):
            self.add(models.Mention, who, when, post_id=post_id, mentioned=self.identity(name))
