-- Members who moved up, held or moved down an Orbit level per period, by the level they
-- started it at (docs/analyses.md; the Orbit Model's bottleneck table).
--
-- Counted: users with a level (1-4) at both the start and the end of the period (levels
-- at a time from the period_orbit_levels view, migration 0003). Moved up = a lower level
-- number (closer to the inner orbit) at the end; moved down = a higher one. Members new in
-- the period are not counted here (they show in orbit_distribution). Periods are
-- [start + k * period_days, start + (k + 1) * period_days), complete ones before end;
-- every starting level 1-4 is listed for every period (the window_period_levels view),
-- with zeros when empty.
--
-- Parameters: start, end DateTime64(3); period_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    {end:DateTime64(3, 'UTC')} AS end_at,
    {period_days:UInt16} AS days,
    moves AS (
        SELECT
            k,
            level_at_start AS from_level,
            count() AS members,
            countIf(level_at_end < level_at_start) AS moved_up,
            countIf(level_at_end = level_at_start) AS held,
            countIf(level_at_end > level_at_start) AS moved_down
        FROM period_orbit_levels(start = start_at, end = end_at, period_days = days)
        WHERE level_at_start BETWEEN 1 AND 4 AND level_at_end BETWEEN 1 AND 4
        GROUP BY k, from_level
    )
SELECT
    g.period_start AS period_start,
    g.orbit_level AS from_level,
    m.members AS members,
    m.moved_up AS moved_up,
    m.held AS held,
    m.moved_down AS moved_down
FROM window_period_levels(start = start_at, end = end_at, period_days = days) AS g
LEFT JOIN moves AS m ON m.k = g.k AND m.from_level = g.orbit_level
ORDER BY period_start, from_level
SETTINGS join_use_nulls = 0
