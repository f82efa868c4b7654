"""Orbit Model levels (orbit-love/orbit-model): 1 = inner orbit ... 4 = outer orbit.

A member reaches a level through an activity of that level's weight (1-12 scale) within
the weight window, or through its presence milestone (active on N days in a window). The
level moves up at once and down only after the computed level has stayed lower for the
hold period, so levels don't flap. Teammates and non-members have no level (0).
"""

from __future__ import annotations

from foundation.settings import OrbitSettings
from streams.state import DAY_MS, UserState, active_days


def computed_level(state: UserState, now_ms: int, cfg: OrbitSettings) -> int:
    """The level the activity alone supports right now."""
    if not state.is_member or state.is_teammate:
        return 0
    horizon = now_ms - cfg.weight_window_days * DAY_MS
    top = max((w for at, w in state.recent_weights if horizon < at <= now_ms), default=0)
    level = 4
    for candidate, threshold in zip((1, 2, 3), cfg.weight_thresholds, strict=True):
        if top >= threshold:
            level = min(level, candidate)
            break
    for candidate, (days, window) in zip((1, 2, 3), cfg.presence_milestones, strict=True):
        if active_days(state.community_days, now_ms, window) >= days:
            level = min(level, candidate)
            break
    return level


def next_level(state: UserState, now_ms: int, cfg: OrbitSettings) -> tuple[int, int | None]:
    """(new level, lower_since_ms) after looking at the state at ``now_ms``."""
    target = computed_level(state, now_ms, cfg)
    current = state.orbit_level
    if target == 0 or current == 0 or target <= current:
        return target, None  # up at once (lower number = closer orbit)
    since = state.lower_since_ms if state.lower_since_ms is not None else now_ms
    if now_ms - since >= cfg.downgrade_hold_days * DAY_MS:
        return target, None
    return current, since
