-- Segments: Orbit level x product usage stage, with churn per cell (docs/analyses.md).
--
-- For each period of the window, the users active in the period before it (as churn.sql:
-- any event but PlanChanged and SupportTicketClosed) are put in one cell by where they
-- stood at the period's start, and churned if they had no activity in the period:
-- orbit_level  the period_orbit_levels view's level at the start (migration 0003); 0 = no
--              level (not a member);
-- usage_stage  from product use before the start:
--              trial      no first value yet (a successful ApiCall, error_class '' and
--                         status_code < 400, or a key FeatureUsed), or no product use at all;
--              activated  first value reached, fewer than habitual_days active product days;
--              habitual   at least habitual_days active product days;
--              power      at least power_days active product days;
--              active product days = UTC days with an ApiCall, FeatureUsed or
--              SessionStarted among the lookback_days days before the start's day.
-- A cell counts user-periods: active_before and churned are summed over the periods (as
-- the report's churn headline), users counts each user once. Every cell of levels 0-4 x
-- the four stages is listed. Teammates (staff) are left out.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: start, end DateTime64(3); period_days, lookback_days, habitual_days, power_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    {end:DateTime64(3, 'UTC')} AS end_at,
    {period_days:UInt16} AS days,
    toInt64(days) * 86400000 AS period_ms,
    intDiv(toUnixTimestamp64Milli(end_at) - toUnixTimestamp64Milli(start_at), period_ms) AS periods,
    ['trial', 'activated', 'habitual', 'power'] AS stages,
    users AS (
        SELECT
            canonical_id,
            maxIf(is_teammate, event_type = 'MemberJoined') AS teammate,
            -- Slot s covers period s - 1: slot 0 is the period before start (as churn.sql).
            groupUniqArrayIf(
                intDiv(toUnixTimestamp64Milli(occurred_at) - toUnixTimestamp64Milli(start_at) + period_ms, period_ms),
                event_type NOT IN ('PlanChanged', 'SupportTicketClosed')
                    AND toUnixTimestamp64Milli(occurred_at) >= toUnixTimestamp64Milli(start_at) - period_ms
            ) AS slots,
            groupUniqArrayIf(toDate(occurred_at), event_type IN ('ApiCall', 'FeatureUsed', 'SessionStarted'))
                AS product_days,
            minOrNullIf(occurred_at, (event_type = 'ApiCall' AND error_class = '' AND status_code < 400)
                                     OR (event_type = 'FeatureUsed' AND is_key_feature)) AS first_value_at
        FROM events_resolved
        WHERE canonical_id != ''
            AND toUnixTimestamp64Milli(occurred_at) < toUnixTimestamp64Milli(start_at) + periods * period_ms
        GROUP BY canonical_id
        HAVING NOT teammate
    ),
    placed AS (
        SELECT
            u.canonical_id AS canonical_id,
            k,
            start_at + toIntervalMillisecond(k * period_ms) AS period_start,
            arrayCount(d -> d >= toDate(period_start) - {lookback_days:UInt16} AND d < toDate(period_start),
                       u.product_days) AS active_days,
            multiIf(
                NOT ifNull(u.first_value_at < period_start, false), 'trial',
                active_days >= {power_days:UInt16}, 'power',
                active_days >= {habitual_days:UInt16}, 'habitual',
                'activated'
            ) AS usage_stage,
            NOT has(u.slots, k + 1) AS churned
        FROM users AS u
        ARRAY JOIN range(0, toUInt64(greatest(periods, 0))) AS k
        WHERE has(u.slots, k)
    ),
    cells AS (
        SELECT
            toUInt8(l.level_at_start) AS orbit_level,
            p.usage_stage AS usage_stage,
            count() AS active_before,
            uniqExact(p.canonical_id) AS users,
            countIf(p.churned) AS churned
        FROM placed AS p
        LEFT JOIN period_orbit_levels(start = start_at, end = end_at, period_days = days) AS l
            ON l.canonical_id = p.canonical_id AND l.k = p.k
        GROUP BY orbit_level, usage_stage
    )
SELECT
    g.orbit_level AS orbit_level,
    g.usage_stage AS usage_stage,
    c.active_before AS active_before,
    c.users AS users,
    c.churned AS churned,
    if(active_before = 0, NULL, churned / active_before) AS churn_rate
FROM (
    SELECT toUInt8(level) AS orbit_level, stage AS usage_stage
    FROM (SELECT arrayJoin([0, 1, 2, 3, 4]) AS level) ARRAY JOIN stages AS stage
) AS g
LEFT JOIN cells AS c ON c.orbit_level = g.orbit_level AND c.usage_stage = g.usage_stage
ORDER BY orbit_level, indexOf(stages, usage_stage)
SETTINGS join_use_nulls = 0
