-- Time to first value after signup, members vs non-members (docs/analyses.md).
--
-- signup       the user's first PlanChanged with plan_change = 'SIGNUP', at or before as_of;
-- first value  the first successful ApiCall (error_class '' and status_code < 400) or
--              FeatureUsed with is_key_feature, at or after signup and at or before as_of;
-- member       joined the community (MemberJoined) at most member_within_days after signup.
-- Signups and members come from the signup_cohort view (migration 0003), shared with
-- retention.sql. Teammates (staff) are left out. Hours are exact (millisecond) differences; the median
-- interpolates between the two middle values of an even count.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: as_of DateTime64(3); member_within_days UInt16.
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    cohort AS (
        SELECT canonical_id, signed_up_at, is_member
        FROM signup_cohort(as_of = as_of_at, member_within_days = {member_within_days:UInt16})
    ),
    first_value AS (
        SELECT e.canonical_id, min(e.occurred_at) AS first_value_at
        FROM events_resolved AS e
        INNER JOIN cohort AS c ON e.canonical_id = c.canonical_id
        WHERE ((e.event_type = 'ApiCall' AND e.error_class = '' AND e.status_code < 400)
                OR (e.event_type = 'FeatureUsed' AND e.is_key_feature))
            AND e.occurred_at >= c.signed_up_at AND e.occurred_at <= as_of_at
        GROUP BY e.canonical_id
    )
SELECT
    if(c.is_member, 'member', 'non-member') AS segment,
    count() AS signups,
    count(f.first_value_at) AS reached_value,
    reached_value / signups AS reached_share,
    quantileExactInclusive(0.5)(
        (toUnixTimestamp64Milli(f.first_value_at) - toUnixTimestamp64Milli(c.signed_up_at)) / 3600000
    ) AS median_hours,
    avg((toUnixTimestamp64Milli(f.first_value_at) - toUnixTimestamp64Milli(c.signed_up_at)) / 3600000)
        AS mean_hours
FROM cohort AS c
LEFT JOIN first_value AS f ON f.canonical_id = c.canonical_id
GROUP BY segment
ORDER BY segment
SETTINGS join_use_nulls = 1
