-- Orbit Model gravity per period (docs/analyses.md; orbit-love/orbit-model "Measure gravity").
--
-- weighted commitment at a time = sum over levels of level_weights[level]^2 x members
-- at that level then; gravity of a period = (weighted commitment at its end - at its
-- start) / members at its end. Levels at a period's start and end from the
-- period_orbit_levels view (migration 0003; latest update before that time, level 0 not
-- counted). Periods (the window_periods view) are
-- [start + k * period_days, start + (k + 1) * period_days), complete ones before end.
--
-- Parameters: start, end DateTime64(3); period_days UInt16; level_weights Array(Float64)
-- (element i = weight of level i, 1 inner .. 4 outer).
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    {end:DateTime64(3, 'UTC')} AS end_at,
    {period_days:UInt16} AS days,
    {level_weights:Array(Float64)} AS weights,
    per_period AS (
        SELECT
            k,
            countIf(level_at_end BETWEEN 1 AND 4) AS members,
            sumIf(pow(weights[level_at_start], 2), level_at_start BETWEEN 1 AND 4) AS weighted_start,
            sumIf(pow(weights[level_at_end], 2), level_at_end BETWEEN 1 AND 4) AS weighted_end
        FROM period_orbit_levels(start = start_at, end = end_at, period_days = days)
        GROUP BY k
    )
SELECT
    p.period_start AS period_start,
    p.period_end AS period_end,
    l.members AS members,
    l.weighted_start AS weighted_commitment_start,
    l.weighted_end AS weighted_commitment_end,
    if(members = 0, NULL, (weighted_commitment_end - weighted_commitment_start) / members) AS gravity
FROM window_periods(start = start_at, end = end_at, period_days = days) AS p
LEFT JOIN per_period AS l ON l.k = p.k
ORDER BY period_start
SETTINGS join_use_nulls = 0
