-- Members per Orbit level at the end of each period (docs/analyses.md).
--
-- A user's level at a period's end comes from the period_orbit_levels view (migration
-- 0003): the orbit_level of their latest engagement score update with as_of before that
-- time; 0 (not a member, or a teammate) is not counted. Periods are
-- [start + k * period_days, start + (k + 1) * period_days) for every complete period
-- before end; every level 1-4 is listed for every period (the window_period_levels view),
-- with 0 when empty.
--
-- Parameters: start, end DateTime64(3); period_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    {end:DateTime64(3, 'UTC')} AS end_at,
    {period_days:UInt16} AS days,
    counts AS (
        SELECT k, level_at_end AS orbit_level, count() AS members
        FROM period_orbit_levels(start = start_at, end = end_at, period_days = days)
        WHERE level_at_end > 0
        GROUP BY k, orbit_level
    )
SELECT
    g.period_end AS period_end,
    g.orbit_level AS orbit_level,
    c.members AS members
FROM window_period_levels(start = start_at, end = end_at, period_days = days) AS g
LEFT JOIN counts AS c ON c.k = g.k AND c.orbit_level = g.orbit_level
ORDER BY period_end, orbit_level
SETTINGS join_use_nulls = 0
