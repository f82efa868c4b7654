"""Pure mentor matching over one error class's recent solvers (no Kafka here).

The state kept per error class is a JSON dict, bounded by ``max_solvers_per_class``:
``{"solvers": {canonical_id: {"count": n, "last_ms": t}}, "suggested": {canonical_id: t}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.settings import MentorSettings

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Candidate:
    canonical_id: str
    solved_count: int
    last_solved_ms: int


def empty_index() -> dict[str, Any]:
    return {"solvers": {}, "suggested": {}}


def record_solution(index: dict[str, Any], solver: str, at_ms: int, cfg: MentorSettings) -> dict[str, Any]:
    """Count one accepted answer for ``solver``; drop the stalest solvers past the bound."""
    solvers = dict(index["solvers"])
    prior = solvers.get(solver, {"count": 0, "last_ms": at_ms})
    solvers[solver] = {"count": prior["count"] + 1, "last_ms": max(prior["last_ms"], at_ms)}
    if len(solvers) > cfg.max_solvers_per_class:
        keep = sorted(solvers.items(), key=lambda kv: kv[1]["last_ms"], reverse=True)
        solvers = dict(keep[: cfg.max_solvers_per_class])
    return {"solvers": solvers, "suggested": index["suggested"]}


def suggest(
    index: dict[str, Any], requester: str, at_ms: int, cfg: MentorSettings
) -> tuple[list[Candidate], dict[str, Any]]:
    """Mentors for ``requester`` at event time ``at_ms``, best first, and the updated index.

    Best = most accepted answers in the window, then most recent. Nobody is suggested to
    themselves; a requester gets at most one suggestion per class per cooldown.
    """
    last = index["suggested"].get(requester)
    if last is not None and at_ms - last < cfg.cooldown_hours * _HOUR_MS:
        return [], index
    horizon = at_ms - cfg.window_days * _DAY_MS
    candidates = [
        Candidate(cid, s["count"], s["last_ms"])
        for cid, s in index["solvers"].items()
        if cid != requester and horizon <= s["last_ms"] <= at_ms
    ]
    candidates.sort(key=lambda c: (-c.solved_count, -c.last_solved_ms, c.canonical_id))
    chosen = candidates[: cfg.max_mentors]
    if not chosen:
        return [], index
    suggested = dict(index["suggested"])
    suggested[requester] = at_ms
    # Forget requesters whose cooldown has passed so the dict stays bounded.
    suggested = {
        k: v for k, v in suggested.items() if at_ms - v < cfg.cooldown_hours * _HOUR_MS or k == requester
    }
    return chosen, {"solvers": index["solvers"], "suggested": suggested}
