-- First-week community onboarding: retention at day 30 and day 90 after joining of members
-- who completed the onboarding sequence within the first week vs those who did not
-- (docs/analyses.md).
--
-- member      a user with a MemberJoined at or before as_of (joined_at: the first one);
--             teammates (staff) are left out.
-- completed   the sequence: an OnboardingStepCompleted whose step_index reaches its
--             total_steps (the churn-risk rule ONBOARDING_STALLED's "complete").
-- onboarded   completed at most onboarding_days after joined_at; everyone else (late,
--             partway, never started) is "not onboarded".
-- retained at day D  at least one activity event (any event but PlanChanged and the support
--             team's SupportTicketClosed) in [joined + D - window_days, joined + D);
--             measured only once joined + D <= as_of.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: as_of DateTime64(3); day, long_day, window_days, onboarding_days UInt16.
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    {day:UInt16} AS d1,
    {long_day:UInt16} AS d2,
    {window_days:UInt16} AS w,
    members AS (
        SELECT
            canonical_id,
            assumeNotNull(minOrNullIf(occurred_at, event_type = 'MemberJoined')) AS joined_at,
            minOrNullIf(occurred_at, event_type = 'OnboardingStepCompleted'
                        AND total_steps > 0 AND step_index >= total_steps) AS completed_at,
            ifNull(completed_at <= joined_at + toIntervalDay({onboarding_days:UInt16}), false) AS onboarded
        FROM events_resolved
        WHERE canonical_id != '' AND occurred_at <= as_of_at
        GROUP BY canonical_id
        HAVING countIf(event_type = 'MemberJoined') > 0 AND NOT maxIf(is_teammate, event_type = 'MemberJoined')
    ),
    retained AS (
        -- per member: active in the week before day d1, and before day d2
        SELECT
            e.canonical_id AS canonical_id,
            max(e.occurred_at >= m.joined_at + toIntervalDay(d1 - w)
                AND e.occurred_at < m.joined_at + toIntervalDay(d1)) AS at_d1,
            max(e.occurred_at >= m.joined_at + toIntervalDay(d2 - w)
                AND e.occurred_at < m.joined_at + toIntervalDay(d2)) AS at_d2
        FROM events_resolved AS e
        INNER JOIN members AS m ON m.canonical_id = e.canonical_id
        WHERE e.event_type NOT IN ('PlanChanged', 'SupportTicketClosed')
        GROUP BY e.canonical_id
    )
SELECT
    if(m.onboarded, 'onboarded', 'not onboarded') AS segment,
    count() AS members,
    countIf(m.joined_at + toIntervalDay(d1) <= as_of_at) AS measured_day,
    countIf(m.joined_at + toIntervalDay(d1) <= as_of_at AND r.at_d1) AS retained_day,
    if(measured_day = 0, NULL, retained_day / measured_day) AS retention_day,
    countIf(m.joined_at + toIntervalDay(d2) <= as_of_at) AS measured_long_day,
    countIf(m.joined_at + toIntervalDay(d2) <= as_of_at AND r.at_d2) AS retained_long_day,
    if(measured_long_day = 0, NULL, retained_long_day / measured_long_day) AS retention_long_day
FROM members AS m
LEFT JOIN retained AS r ON r.canonical_id = m.canonical_id
GROUP BY segment
ORDER BY segment DESC  -- onboarded first
SETTINGS join_use_nulls = 0
