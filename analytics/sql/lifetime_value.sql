-- Lifetime value to date by weekly signup cohort, members vs non-members (docs/analyses.md).
--
-- Signups and members come from the signup_cohort view (migration 0003), as in retention.sql:
-- signup = first PlanChanged SIGNUP at or before as_of, cohort = the Monday (UTC) of its
-- week, member = joined the community at most member_within_days after signup; teammates
-- are left out.
-- revenue to date  each plan change's mrr_cents for as long as it held (until the next
--                  change, or as_of), prorated by 30-day months: sum(mrr x days held / 30);
-- paying           users with MRR > 0 at as_of (their latest change's mrr_cents);
-- mrr_now          their MRR at as_of;
-- ltv_per_signup   revenue to date / signups.
-- Money in cents.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: as_of DateTime64(3); member_within_days UInt16.
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    toUnixTimestamp64Milli(as_of_at) AS as_of_ms,
    cohort AS (
        SELECT canonical_id, signed_up_at, is_member
        FROM signup_cohort(as_of = as_of_at, member_within_days = {member_within_days:UInt16})
    ),
    plans AS (
        -- (time in ms, event id, MRR) of every plan change up to as_of, in time order
        SELECT canonical_id,
               arraySort(groupArray((toUnixTimestamp64Milli(occurred_at), event_id, mrr_cents))) AS plan
        FROM events_resolved
        WHERE event_type = 'PlanChanged' AND occurred_at <= as_of_at
        GROUP BY canonical_id
    ),
    per_user AS (
        SELECT
            c.canonical_id AS canonical_id,
            c.signed_up_at AS signed_up_at,
            c.is_member AS is_member,
            p.plan[-1].3 AS mrr_now,
            -- a change holds from its time to the next change's (the last one: to as_of)
            arraySum(arrayMap(
                i -> p.plan[i].3 * ((if(i < length(p.plan), p.plan[i + 1].1, as_of_ms) - p.plan[i].1) / 86400000),
                arrayEnumerate(p.plan)
            )) / 30 AS revenue
        FROM cohort AS c
        INNER JOIN plans AS p ON p.canonical_id = c.canonical_id
    )
SELECT
    toStartOfWeek(signed_up_at, 1) AS cohort_week,
    if(is_member, 'member', 'non-member') AS segment,
    count() AS signups,
    countIf(mrr_now > 0) AS paying,
    sum(mrr_now) AS mrr_now_cents,
    sum(revenue) AS ltv_to_date_cents,
    ltv_to_date_cents / signups AS ltv_per_signup_cents
FROM per_user
GROUP BY cohort_week, segment
ORDER BY cohort_week, segment
