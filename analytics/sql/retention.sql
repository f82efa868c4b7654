-- D{day} retention by weekly signup cohort, members vs non-members (docs/analyses.md).
--
-- signup    the user's first PlanChanged with plan_change = 'SIGNUP'; users without one
--           are in no cohort. Cohort = the Monday (UTC) of the signup's week.
-- member    joined the community (MemberJoined) at most member_within_days after signup;
--           teammates (staff) are left out entirely. Signups and members come from the
--           signup_cohort view (migration 0003), shared with time_to_first_value.sql.
-- retained  at least one activity event (any event but PlanChanged and the support
--           team's SupportTicketClosed) in [signup + day - window_days, signup + day).
-- measured  only once signup + day <= as_of; the others are counted in signups only.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: as_of DateTime64(3), day, window_days, member_within_days UInt16.
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    cohort AS (
        SELECT canonical_id, signed_up_at, is_member
        FROM signup_cohort(as_of = as_of_at, member_within_days = {member_within_days:UInt16})
    ),
    retained_users AS (
        SELECT DISTINCT e.canonical_id
        FROM events_resolved AS e
        INNER JOIN cohort AS c ON e.canonical_id = c.canonical_id
        WHERE e.event_type NOT IN ('PlanChanged', 'SupportTicketClosed')
            AND e.occurred_at >= c.signed_up_at + toIntervalDay({day:UInt16} - {window_days:UInt16})
            AND e.occurred_at < c.signed_up_at + toIntervalDay({day:UInt16})
    )
SELECT
    toStartOfWeek(signed_up_at, 1) AS cohort_week,
    if(is_member, 'member', 'non-member') AS segment,
    count() AS signups,
    countIf(signed_up_at + toIntervalDay({day:UInt16}) <= as_of_at) AS measured,
    countIf(signed_up_at + toIntervalDay({day:UInt16}) <= as_of_at AND canonical_id IN retained_users)
        AS retained,
    if(measured = 0, NULL, retained / measured) AS retention
FROM cohort
GROUP BY cohort_week, segment
ORDER BY cohort_week, segment
