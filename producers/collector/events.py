"""The ``POST /v1/events`` batch: each event checked on its own, answered with field and reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from producers.collector.body import BodyError
from schemas.models import EVENT_MODELS, Event

MODELS: dict[str, type[Event]] = {model.__name__: model for model in EVENT_MODELS}


@dataclass(frozen=True)
class Problem:
    """Why one event was refused: the field (dotted path, or None for the whole event)."""

    field: str | None
    reason: str
    # A bounded label for the metrics (pydantic's error type, or one of ours).
    kind: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason}


@dataclass
class Checked:
    """A batch split into the events that validated (with their positions) and the rest."""

    valid: list[tuple[int, Event]] = field(default_factory=list)
    rejected: dict[int, list[Problem]] = field(default_factory=dict)


def check_event(item: Any, source: str) -> Event | list[Problem]:
    """Validate one JSON event: ``{"type": "<record name>", ...the model's fields}``."""
    if not isinstance(item, dict):
        return [Problem(None, f"an event is a JSON object, not {type(item).__name__}", "not_an_object")]
    data = dict(item)
    kind = data.pop("type", None)
    model = MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(sorted(MODELS))
        return [Problem("type", f"unknown event type {kind!r}; one of {known}", "unknown_type")]
    # The key's source names the sender when the event does not.
    data.setdefault("source", source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return [
            Problem(".".join(str(p) for p in error["loc"]) or None, error["msg"], error["type"])
            for error in exc.errors(include_url=False)
        ]


def check_batch(document: Any, source: str, max_events: int) -> Checked:
    """Every event of the batch checked; :class:`BodyError` if the document is no batch we take."""
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise BodyError(400, 'a batch is a JSON object {"events": [...]}')
    items = document["events"]
    if len(items) > max_events:
        raise BodyError(413, f"batch holds {len(items)} events, at most {max_events} are taken")
    checked = Checked()
    for n, item in enumerate(items):
        result = check_event(item, source)
        if isinstance(result, list):
            checked.rejected[n] = result
        else:
            checked.valid.append((n, result))
    return checked
