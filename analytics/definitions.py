"""One line per analysis for the report, from the settings; the full definitions are in
docs/analyses.md."""

from __future__ import annotations

from foundation.settings import AnalysesSettings


def definitions(s: AnalysesSettings) -> dict[str, str]:
    """One line per analysis; the full definitions are in docs/analyses.md."""
    w = ", ".join(f"{level}: {weight:g}" for level, weight in enumerate(s.orbit_level_weights, start=1))
    first, last = s.retention_day - s.retention_window_days, s.retention_day - 1
    return {
        "retention": "Signup = first PlanChanged SIGNUP; cohort = its week (Monday, UTC). Retained = any "
        f"activity in days {first}-{last} after signup. Member = joined the community within "
        f"{s.member_within_days} days of signup. Only cohorts past day {s.retention_day} are measured.",
        "churn": "Of the users active in one period, the share with no activity in the next. Member = joined "
        "the community before the period began.",
        "support_deflection": "Questions whose answer was first accepted in the period, against support "
        "tickets opened in it. Deflection = resolved / (resolved + tickets).",
        "time_to_first_value": "Hours from signup to the first successful API call or key-feature use. "
        f"Member = joined the community within {s.member_within_days} days of signup.",
        "network_density": "Members of a level connected by any relationship edge, as distinct pairs, over "
        "all possible pairs n(n-1)/2 of that level; and connections per member.",
        "orbit_distribution": "Members per Orbit level (latest level before the period's end).",
        "gravity": f"Weighted commitment = sum of weight(level)^2 x members at the level (weights {w}); "
        "gravity = its change over the period / members at the period's end.",
        "orbit_movement": "Members with a level at both ends of a period: moved up (closer to the inner "
        "orbit), held, or moved down. By level in the table.",
        "triggers": "Churn-risk triggers fired in the window, and the users who did anything after one "
        "fired.",
        "revenue": "MRR = mrr_cents of the latest PlanChanged. Per period: the start MRR of paying "
        "customers, what they added (expansion) or cut (contraction), what left with cancels (churned) and "
        "new MRR; net revenue retention = what the same customers pay at the end / at the start. Member = "
        "joined the community before the period began.",
        "lifetime_value": "Revenue to date = each plan's MRR for as long as it held, prorated by 30-day "
        f"months, up to as-of; by signup week. Member = joined within {s.member_within_days} days of signup.",
        "onboarding": "Onboarded = finished the community onboarding sequence (OnboardingStepCompleted "
        f"reaching its last step) within {s.onboarding_within_days} days of joining. Retained at day N = any "
        f"activity in the {s.retention_window_days} days before day N after joining (N = {s.retention_day}, "
        f"{s.long_retention_day}).",
        "segments": "Users active in a period, placed by their Orbit level and usage stage at its start; "
        "churned = no activity in the next period. Stages: trial = before first value; activated; habitual = "
        f"{s.habitual_active_days}+ and power = {s.power_active_days}+ active product days in the last "
        f"{s.stage_lookback_days}. Counts are user-periods.",
        "interactions": "Support requests (tickets opened, questions with no reply from someone else within "
        f"{s.unanswered_hours} h) against collaborative interactions (replies to others' posts, accepted "
        "answers, mentions, events attended). Relational share = collaborative / both.",
        "connections": "Members connected by a conversation (reply, answer or mention, either way) in the "
        f"{s.connection_window_days} days before the period's end: 2 x pairs / members. Density by level "
        "as of today is in Network density above.",
        "mentor_outcome": "Users suggested a mentor (from their first suggestion) against users who hit a "
        "failed call of a suggested-for error class and got none (from that call): got an accepted answer "
        f"and stopped failing within {s.mentor_followup_days} days; retained at day {s.retention_day}.",
    }
