"""When a user next needs an absence judgement, and the per-partition queue of those times.

Each user gets a *due time*: the earliest event time at which a judgement could change
anything for them (a silence, an unanswered question or a stalled onboarding coming due,
a day boundary for usage windows and level holds). The join judges a user at exactly that
event time, between the events before it and those after it (activity/agents.py), so a
judgement is the same in every run. Users with nothing pending are never judged at all:
judging every user of a partition at regular times cost a stall that grew with the user
count, and a changelog write per user.
"""

from __future__ import annotations

import heapq

from foundation.settings import StreamSettings
from streams.state import DAY_MS, HOUR_MS, UserState, active_days
from streams.triggers.rules import rule_of


def _next_day(now_ms: int) -> int:
    return (now_ms // DAY_MS + 1) * DAY_MS


def _stale_episode(state: UserState, key: str) -> bool:
    """An open episode whose risk is gone in a way only a due-time judgement notices (it then re-arms)."""
    rule = rule_of(key)
    if rule == "QUESTION_UNANSWERED":
        return key.split(":", 1)[1] not in state.open_questions
    if rule == "ONBOARDING_STALLED":
        return state.onboarding_total is not None and state.onboarding_step >= state.onboarding_total
    return False


def next_check_ms(state: UserState, now_ms: int, cfg: StreamSettings) -> int | None:
    """The earliest event time after ``now_ms`` at which a judgement could change ``state``.

    None when only a new event can change anything (nothing is coming due). API-error
    streaks are judged by the events that make them, so they never come due.
    """
    if state.merged_into is not None:
        return None  # its activity lives on under its person now
    t = cfg.triggers
    episodes = state.episodes
    due: list[int] = [now_ms + 1 for key in episodes if _stale_episode(state, key)]
    if (
        "MEMBER_SILENT" not in episodes
        and state.is_member
        and not state.is_teammate
        and state.last_community_ms is not None
        # Activity is judged over the 30 days before the silence began: fixed until new
        # community activity, so an inactive member can never come due on time alone.
        and active_days(state.community_days, state.last_community_ms, 30) >= t.silence_min_active_days
    ):
        due.append(state.last_community_ms + int(t.silence_days * DAY_MS))
    complete = state.onboarding_total is not None and state.onboarding_step >= state.onboarding_total
    if "ONBOARDING_STALLED" not in episodes and state.signup_ms is not None and not complete:
        due.append(state.signup_ms + int(t.onboarding_days * DAY_MS))
    limit = int(t.question_unanswered_hours * HOUR_MS)
    due.extend(
        asked + limit
        for post, asked in state.open_questions.items()
        if f"QUESTION_UNANSWERED:{post}" not in episodes
    )
    active_product = [d for d, n in state.product_days.items() if n > 0]
    if "USAGE_DROP" not in episodes and active_product:
        # Usage windows move a day at a time; once the baseline window has slid past the
        # last active day there is nothing left to drop from.
        horizon = (max(active_product) + t.usage_recent_days + t.usage_baseline_days) * DAY_MS
        if _next_day(now_ms) <= horizon:
            due.append(_next_day(now_ms))
    if state.is_member and not state.is_teammate and 1 <= state.orbit_level <= 3:
        # A level can fall when an activity leaves the weight window, when presence days
        # leave theirs (day steps) or when a hold runs out; the hold starts when a judgement
        # first sees the lower level, so these are the exact moments, not hourly guesses.
        due.append(_next_day(now_ms))
        window = cfg.orbit.weight_window_days * DAY_MS
        due.extend(at + window for at, _ in state.recent_weights if at + window > now_ms)
        if state.lower_since_ms is not None:
            due.append(state.lower_since_ms + int(cfg.orbit.downgrade_hold_days * DAY_MS))
    return max(min(due), now_ms + 1) if due else None


class DueQueue:
    """One partition's users by due time: a heap with lazy deletion, bounded by compaction.

    Derived state: rebuilt from the ``users`` table when a worker takes the partition on,
    so it is never stale after a rebalance and needs no changelog of its own.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._due)

    def set(self, user: str, due_ms: int | None) -> None:
        if due_ms is None:
            self._due.pop(user, None)  # its heap entries become stale
            return
        if self._due.get(user) == due_ms:
            return
        self._due[user] = due_ms
        heapq.heappush(self._heap, (due_ms, user))
        if len(self._heap) > 2 * len(self._due) + 64:
            # Entries superseded by a later due time pile up (each community event moves
            # the silence due date): rebuild from the live ones.
            self._heap = [(due, u) for u, due in self._due.items()]
            heapq.heapify(self._heap)

    def due_of(self, user: str) -> int | None:
        return self._due.get(user)

    def peek(self) -> int | None:
        """The earliest due time queued, or None."""
        heap = self._heap
        while heap and self._due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # superseded
        return heap[0][0] if heap else None

    def pop_due(self, now_ms: int) -> list[str]:
        """The users due at or before ``now_ms``, earliest first; they leave the queue."""
        out: list[str] = []
        while self._heap and self._heap[0][0] <= now_ms:
            due, user = heapq.heappop(self._heap)
            if self._due.get(user) == due:
                del self._due[user]
                out.append(user)
        return out
