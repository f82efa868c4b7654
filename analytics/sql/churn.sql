-- Churn per period, members vs non-members (docs/analyses.md).
--
-- Periods are [start + k * period_days, start + (k + 1) * period_days) for every complete
-- period before end. For each period:
-- active before  users with an activity event (any event but PlanChanged and the support
--                team's SupportTicketClosed) in the period just before it;
-- churned        those of them with no activity event in the period;
-- member         joined the community (MemberJoined) before the period starts.
-- Teammates (staff) are left out.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: start, end DateTime64(3); period_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    toInt64({period_days:UInt16}) * 86400000 AS period_ms,
    intDiv(toUnixTimestamp64Milli({end:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(start_at), period_ms)
        AS periods,
    users AS (
        SELECT
            canonical_id,
            minOrNullIf(occurred_at, event_type = 'MemberJoined') AS joined_at,
            maxIf(is_teammate, event_type = 'MemberJoined') AS teammate,
            -- Slot s covers period s - 1: slot 0 is the period before start.
            groupUniqArrayIf(
                intDiv(toUnixTimestamp64Milli(occurred_at) - toUnixTimestamp64Milli(start_at) + period_ms, period_ms),
                event_type NOT IN ('PlanChanged', 'SupportTicketClosed')
                    AND toUnixTimestamp64Milli(occurred_at) >= toUnixTimestamp64Milli(start_at) - period_ms
            ) AS slots
        FROM events_resolved
        WHERE canonical_id != ''
            AND toUnixTimestamp64Milli(occurred_at) < toUnixTimestamp64Milli(start_at) + periods * period_ms
        GROUP BY canonical_id
    )
SELECT
    start_at + toIntervalMillisecond(k * period_ms) AS period_start,
    if(ifNull(joined_at < period_start, false), 'member', 'non-member') AS segment,
    count() AS active_before,
    countIf(NOT has(slots, k + 1)) AS churned,
    churned / active_before AS churn_rate
FROM users
ARRAY JOIN range(0, toUInt64(greatest(periods, 0))) AS k
WHERE NOT teammate AND has(slots, k)
GROUP BY period_start, segment
ORDER BY period_start, segment
