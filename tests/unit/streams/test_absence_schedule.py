"""When a user comes due for an absence judgement, and the per-partition queue of due users."""

from __future__ import annotations

from datetime import UTC, datetime

from foundation.settings import StreamSettings
from streams.activity.process import check_absence
from streams.activity.schedule import DueQueue, next_check_ms
from streams.state import DAY_MS, HOUR_MS, UserState
from streams.timeconv import from_ms

CFG = StreamSettings()
EMITTED = datetime(2030, 1, 1, tzinfo=UTC)


def _user(**update: object) -> UserState:
    return UserState(canonical_id="c", first_seen_ms=0).model_copy(update=update)


def test_nothing_pending_means_no_tick_ever_touches_the_user() -> None:
    assert next_check_ms(_user(), 5 * DAY_MS, CFG) is None
    # A member active on one day only can never become "active and silent" on time alone.
    barely = _user(is_member=True, orbit_level=4, last_community_ms=DAY_MS, community_days={1: 1})
    assert next_check_ms(barely, 2 * DAY_MS, CFG) is None


def test_each_absence_rule_comes_due_when_its_limit_passes() -> None:
    active = {8: 1, 9: 1, 10: 1}
    silent = _user(is_member=True, orbit_level=4, last_community_ms=10 * DAY_MS, community_days=active)
    assert next_check_ms(silent, 10 * DAY_MS, CFG) == 24 * DAY_MS  # 14 days of silence
    # Once its activity moved to its person (an identity merge), the old id is never judged.
    assert next_check_ms(silent.model_copy(update={"merged_into": "p"}), 10 * DAY_MS, CFG) is None
    asked = _user(open_questions={"q1": 5 * HOUR_MS, "q2": 3 * HOUR_MS})
    assert next_check_ms(asked, 6 * HOUR_MS, CFG) == 51 * HOUR_MS  # oldest question + 48 h
    signed = _user(signup_ms=2 * DAY_MS, onboarding_step=1, onboarding_total=4)
    assert next_check_ms(signed, 2 * DAY_MS, CFG) == 9 * DAY_MS  # signup + 7 days
    done = signed.model_copy(update={"onboarding_step": 4})
    assert next_check_ms(done, 2 * DAY_MS, CFG) is None


def test_open_episodes_are_not_scheduled_again_but_stale_ones_are_cleared_next_tick() -> None:
    silent = _user(
        is_member=True,
        last_community_ms=10 * DAY_MS,
        community_days={8: 1, 9: 1, 10: 1},
        episodes={"MEMBER_SILENT": 10 * DAY_MS},
    )
    assert next_check_ms(silent, 30 * DAY_MS, CFG) is None
    answered = _user(episodes={"QUESTION_UNANSWERED:q1": 0})  # answered after it fired
    assert next_check_ms(answered, 60 * HOUR_MS, CFG) == 60 * HOUR_MS + 1
    cleared = check_absence(answered, from_ms(60 * HOUR_MS), CFG, EMITTED).state
    assert cleared.episodes == {}
    assert next_check_ms(cleared, 60 * HOUR_MS, CFG) is None


def test_usage_windows_and_levels_are_checked_daily_until_nothing_can_change() -> None:
    used = _user(product_days={10: 3})
    # Days move the windows: due at the next midnight ...
    assert next_check_ms(used, 12 * DAY_MS + 5, CFG) == 13 * DAY_MS
    # ... until the baseline window (14 days after the recent 3) has slid past day 10.
    assert next_check_ms(used, 27 * DAY_MS, CFG) is None
    inner = _user(is_member=True, orbit_level=1, lower_since_ms=DAY_MS + HOUR_MS)
    assert next_check_ms(inner, DAY_MS + 2 * HOUR_MS, CFG) == 2 * DAY_MS
    # An answer (weight 8) leaves the 30-day window mid-day: that moment, not midnight.
    answered = _user(is_member=True, orbit_level=1, recent_weights=[(5 * HOUR_MS, 8)])
    assert next_check_ms(answered, 30 * DAY_MS, CFG) == 30 * DAY_MS + 5 * HOUR_MS
    outer = _user(is_member=True, orbit_level=4)
    assert next_check_ms(outer, DAY_MS, CFG) is None  # level 4 is as low as a member goes


def test_due_queue_yields_each_due_user_once_in_due_order_and_keeps_only_the_latest_time() -> None:
    queue = DueQueue()
    queue.set("a", 30)
    queue.set("b", 10)
    queue.set("c", 50)
    queue.set("a", 20)  # moved: the old entry (30) must not fire
    queue.set("c", None)  # nothing pending any more
    assert queue.pop_due(25) == ["b", "a"]
    assert queue.pop_due(100) == []
    assert len(queue) == 0


def test_due_queue_stays_bounded_when_due_times_keep_moving() -> None:
    queue = DueQueue()
    for i in range(10_000):
        queue.set(f"u{i % 10}", 1_000 + i)
    assert len(queue) == 10
    assert len(queue._heap) <= 2 * 10 + 64
    assert queue.pop_due(20_000) == [f"u{i}" for i in range(10)]


def test_due_queue_peek_skips_superseded_entries() -> None:
    queue = DueQueue()
    assert queue.peek() is None
    queue.set("a", 500)
    queue.set("b", 900)
    queue.set("a", 1_200)  # a's earlier due time is superseded
    assert queue.peek() == 900
    assert queue.pop_due(900) == ["b"]
    assert queue.peek() == 1_200
    queue.set("a", None)
    assert queue.peek() is None
