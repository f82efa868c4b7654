"""Pure mentor matching over one error class (no Kafka here).

The state kept per error class is a JSON dict, bounded by the mentor settings::

    {"solvers": {canonical_id: {"count": n, "last_ms": t, "level": l, "team": d}},
     "suggested": {canonical_id: t},
     "errors": {canonical_id: [t, ...]},
     "applied": {canonical_id: {origin: [offset, index]}}}

``errors`` holds each user's recent failed calls of the class (event times, sorted): a
suggestion needs a pattern, ``pattern_count`` of them within ``pattern_window_hours``.
``applied`` holds, per user and input partition ("topic:partition") their event was read
from, the place of the last record applied (the event's offset there, and its index among
the event's records). The join folds one user's events of an input in offset order, so a
record read again after a crash (at or before that place) changes nothing: a solve is not
counted twice, a failed call not made into a pattern of itself. Marks are kept for the
users the index still holds (recent requesters and solvers), so they stay bounded too.
Indexes written before patterns, levels, teams and marks existed read as having none.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from foundation.settings import MentorSettings

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
# Failed calls kept per user and class: enough to see any pattern_count up to this.
MAX_ERRORS_PER_USER = 64


@dataclass(frozen=True)
class Candidate:
    canonical_id: str
    solved_count: int
    last_solved_ms: int
    orbit_level: int = 0
    is_inner: bool = False


@dataclass(frozen=True)
class Pattern:
    """A user's failed calls of one class within the window ending at the latest one."""

    count: int
    first_ms: int


def empty_index() -> dict[str, Any]:
    return {"solvers": {}, "suggested": {}, "errors": {}, "applied": {}}


def applied_before(index: dict[str, Any], user: str, origin: str, mark: tuple[int, int]) -> bool:
    """True when ``user``'s record at ``mark`` of ``origin`` was applied before (a copy)."""
    marks = index.get("applied", {}).get(user)
    last = marks.get(origin) if isinstance(marks, dict) else None
    return last is not None and mark <= tuple(last)


def mark_applied(index: dict[str, Any], user: str, origin: str, mark: tuple[int, int]) -> dict[str, Any]:
    """The index noting ``user``'s record at ``mark`` of ``origin`` as applied; marks of users
    it no longer holds (nor an older index's marks in another form) are dropped."""
    kept = set(index.get("errors", {})) | set(index.get("solvers", {})) | {user}
    applied = {
        u: marks for u, marks in index.get("applied", {}).items() if u in kept and isinstance(marks, dict)
    }
    applied[user] = {**applied.get(user, {}), origin: list(mark)}
    return {**index, "applied": applied}


def record_solution(
    index: dict[str, Any],
    solver: str,
    at_ms: int,
    cfg: MentorSettings,
    *,
    orbit_level: int = 0,
    team: str | None = None,
) -> dict[str, Any]:
    """Count one accepted answer for ``solver``; drop the stalest solvers past the bound.

    Level and team are the solver's as of their latest answer on the class.
    """
    solvers = dict(index["solvers"])
    prior = solvers.get(solver, {"count": 0, "last_ms": at_ms})
    latest = at_ms >= prior["last_ms"]
    solvers[solver] = {
        "count": prior["count"] + 1,
        "last_ms": max(prior["last_ms"], at_ms),
        "level": orbit_level if latest or "level" not in prior else prior["level"],
        "team": team if latest or "team" not in prior else prior["team"],
    }
    if len(solvers) > cfg.max_solvers_per_class:
        keep = sorted(solvers.items(), key=lambda kv: (kv[1]["last_ms"], kv[0]), reverse=True)
        solvers = dict(keep[: cfg.max_solvers_per_class])
    return {**index, "solvers": solvers}


def record_error(
    index: dict[str, Any], requester: str, at_ms: int, cfg: MentorSettings
) -> tuple[Pattern, dict[str, Any]]:
    """Note a failed call of the class; the pattern it completes (or not) and the new index.

    Counted within the window ending at this call, so a late call counts with the calls
    around it, whatever order they came in.
    """
    window = cfg.pattern_window_hours * _HOUR_MS
    errors = dict(index.get("errors", {}))
    times = list(errors.get(requester, []))
    bisect.insort(times, at_ms)
    times = [t for t in times if t > times[-1] - window][-MAX_ERRORS_PER_USER:]
    errors[requester] = times
    if len(errors) > cfg.max_requesters_per_class:
        keep = sorted(errors.items(), key=lambda kv: (kv[1][-1], kv[0]), reverse=True)
        errors = dict(keep[: cfg.max_requesters_per_class])
    within = [t for t in times if at_ms - window < t <= at_ms]
    return Pattern(len(within), within[0]), {**index, "errors": errors}


def suggest(
    index: dict[str, Any], requester: str, at_ms: int, cfg: MentorSettings, *, team: str | None = None
) -> tuple[list[Candidate], dict[str, Any]]:
    """Mentors for ``requester`` at event time ``at_ms``, best first, and the updated index.

    Candidates: solvers of the class within ``window_days``, never the requester, nor
    anyone of the requester's team. Best = inner orbit first (levels 1..inner_orbit_max_level),
    then most accepted answers in the window, then most recent. A requester gets at most
    one suggestion per class per cooldown.
    """
    last = index["suggested"].get(requester)
    if last is not None and at_ms - last < cfg.cooldown_hours * _HOUR_MS:
        return [], index
    horizon = at_ms - cfg.window_days * _DAY_MS
    candidates = [
        Candidate(
            cid,
            s["count"],
            s["last_ms"],
            s.get("level", 0),
            1 <= s.get("level", 0) <= cfg.inner_orbit_max_level,
        )
        for cid, s in index["solvers"].items()
        if cid != requester and horizon <= s["last_ms"] <= at_ms and (team is None or s.get("team") != team)
    ]
    candidates.sort(key=lambda c: (not c.is_inner, -c.solved_count, -c.last_solved_ms, c.canonical_id))
    chosen = candidates[: cfg.max_mentors]
    if not chosen:
        return [], index
    suggested = dict(index["suggested"])
    suggested[requester] = at_ms
    # Forget requesters whose cooldown has passed so the dict stays bounded.
    suggested = {
        k: v for k, v in suggested.items() if at_ms - v < cfg.cooldown_hours * _HOUR_MS or k == requester
    }
    return chosen, {**index, "suggested": suggested}


def reason(candidate: Candidate, error_class: str, at_ms: int) -> str:
    """Why this mentor, in words: solves of the class, how recent, orbit level."""
    answers = "accepted answer" if candidate.solved_count == 1 else "accepted answers"
    days = (at_ms - candidate.last_solved_ms) / _DAY_MS
    if candidate.orbit_level:
        where = "inner orbit" if candidate.is_inner else "outer orbit"
        orbit = f"orbit level {candidate.orbit_level} ({where})"
    else:
        orbit = "orbit level unknown"
    return f"{candidate.solved_count} {answers} on {error_class}, the latest {days:.1f} days before; {orbit}"
