-- Orbit Model gravity per period (docs/analyses.md; orbit-love/orbit-model "Measure gravity").
--
-- weighted commitment at a time = sum over levels of level_weights[level]^2 x members
-- at that level then; gravity of a period = (weighted commitment at its end - at its
-- start) / members at its end. Levels at a time as in orbit_distribution.sql (latest
-- update before that time, level 0 not counted). Periods are
-- [start + k * period_days, start + (k + 1) * period_days), complete ones before end.
--
-- Parameters: start, end DateTime64(3); period_days UInt16; level_weights Array(Float64)
-- (element i = weight of level i, 1 inner .. 4 outer).
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    toInt64({period_days:UInt16}) * 86400000 AS period_ms,
    intDiv(toUnixTimestamp64Milli({end:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(start_at), period_ms)
        AS periods,
    {level_weights:Array(Float64)} AS weights,
    -- Boundary j is start + j * period_days, j = 0 .. periods.
    levels AS (
        SELECT canonical_id, j, argMax(orbit_level, (as_of, event_count, update_id)) AS orbit_level
        FROM engagement_scores
        ARRAY JOIN range(0, toUInt64(greatest(periods, 0)) + 1) AS j
        WHERE toUnixTimestamp64Milli(as_of) < toUnixTimestamp64Milli(start_at) + j * period_ms
        GROUP BY canonical_id, j
    ),
    per_boundary AS (
        SELECT
            b.j AS j,
            l.members AS members,
            l.weighted AS weighted
        FROM (SELECT arrayJoin(range(0, toUInt64(greatest(periods, 0)) + 1)) AS j) AS b
        LEFT JOIN (
            SELECT j, count() AS members, sum(pow(weights[orbit_level], 2)) AS weighted
            FROM levels
            WHERE orbit_level BETWEEN 1 AND 4
            GROUP BY j
        ) AS l ON l.j = b.j
    )
SELECT
    start_at + toIntervalMillisecond(toInt64(cur.j - 1) * period_ms) AS period_start,
    start_at + toIntervalMillisecond(toInt64(cur.j) * period_ms) AS period_end,
    cur.members AS members,
    prev.weighted AS weighted_commitment_start,
    cur.weighted AS weighted_commitment_end,
    if(cur.members = 0, NULL, (cur.weighted - prev.weighted) / cur.members) AS gravity
FROM per_boundary AS cur
INNER JOIN per_boundary AS prev ON prev.j + 1 = cur.j
ORDER BY period_start
SETTINGS join_use_nulls = 0
