-- Revenue per period, members vs non-members: MRR moves and net revenue retention
-- (docs/analyses.md).
--
-- MRR of a user at a time = mrr_cents of their latest PlanChanged strictly before it
-- (ties by event_id); 0 before the first one, and after a CANCEL (which carries 0).
-- For each period of the window and each user with MRR at its start or its end:
-- customers       users with MRR > 0 at the period's start;
-- mrr_start       their MRR at the start;
-- new             MRR at the end of users with none at the start (new or come back);
-- expansion       increases of customers still paying at the end;
-- contraction     decreases of customers still paying at the end;
-- churned         the start MRR of customers at 0 at the end;
-- mrr_end         everyone's MRR at the end (= start + new + expansion - contraction - churned);
-- net_revenue_retention  (mrr_start + expansion - contraction - churned) / mrr_start, the
--                 share of the start MRR the same customers pay at the end; NULL without any.
-- member          joined the community (MemberJoined) before the period starts. Teammates
--                 (staff) are left out. Monthly figures: run it with period_days 30.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: start, end DateTime64(3); period_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    {end:DateTime64(3, 'UTC')} AS end_at,
    {period_days:UInt16} AS days,
    users AS (
        SELECT
            canonical_id,
            minOrNullIf(occurred_at, event_type = 'MemberJoined') AS joined_at,
            maxIf(is_teammate, event_type = 'MemberJoined') AS teammate,
            -- (time, event id, MRR) of every plan change, in time order
            arraySort(groupArrayIf((occurred_at, event_id, mrr_cents), event_type = 'PlanChanged')) AS plan
        FROM events_resolved
        WHERE canonical_id != '' AND event_type IN ('PlanChanged', 'MemberJoined') AND occurred_at < end_at
        GROUP BY canonical_id
        HAVING length(plan) > 0 AND NOT teammate
    ),
    moves AS (
        SELECT
            p.period_start AS period_start,
            if(ifNull(u.joined_at < p.period_start, false), 'member', 'non-member') AS segment,
            -- arrayLast gives a zero tuple when no change is before the time: MRR 0
            arrayLast(x -> x.1 < p.period_start, u.plan).3 AS before,
            arrayLast(x -> x.1 < p.period_end, u.plan).3 AS after
        FROM users AS u
        CROSS JOIN window_periods(start = start_at, end = end_at, period_days = days) AS p
    )
SELECT
    period_start,
    segment,
    countIf(before > 0) AS customers,
    sum(before) AS mrr_start_cents,
    sumIf(after, before = 0) AS new_mrr_cents,
    sumIf(after - before, before > 0 AND after > before) AS expansion_mrr_cents,
    sumIf(before - after, before > 0 AND after > 0 AND after < before) AS contraction_mrr_cents,
    sumIf(before, before > 0 AND after = 0) AS churned_mrr_cents,
    sum(after) AS mrr_end_cents,
    if(mrr_start_cents = 0, NULL,
       (mrr_start_cents + expansion_mrr_cents - contraction_mrr_cents - churned_mrr_cents) / mrr_start_cents)
        AS net_revenue_retention
FROM moves
WHERE before > 0 OR after > 0
GROUP BY period_start, segment
ORDER BY period_start, segment
