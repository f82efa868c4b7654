-- Members who moved up, held or moved down an Orbit level per period, by the level they
-- started it at (docs/analyses.md; the Orbit Model's bottleneck table).
--
-- Counted: users with a level (1-4) at both the start and the end of the period (levels
-- at a time as in orbit_distribution.sql). Moved up = a lower level number (closer to
-- the inner orbit) at the end; moved down = a higher one. Members new in the period are
-- not counted here (they show in orbit_distribution). Periods are
-- [start + k * period_days, start + (k + 1) * period_days), complete ones before end;
-- every starting level 1-4 is listed for every period, with zeros when empty.
--
-- Parameters: start, end DateTime64(3); period_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    toInt64({period_days:UInt16}) * 86400000 AS period_ms,
    intDiv(toUnixTimestamp64Milli({end:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(start_at), period_ms)
        AS periods,
    -- Boundary j is start + j * period_days, j = 0 .. periods.
    levels AS (
        SELECT canonical_id, j, argMax(orbit_level, (as_of, event_count, update_id)) AS orbit_level
        FROM engagement_scores
        ARRAY JOIN range(0, toUInt64(greatest(periods, 0)) + 1) AS j
        WHERE toUnixTimestamp64Milli(as_of) < toUnixTimestamp64Milli(start_at) + j * period_ms
        GROUP BY canonical_id, j
    ),
    moves AS (
        SELECT
            prev.j AS k,
            prev.orbit_level AS from_level,
            count() AS members,
            countIf(cur.orbit_level < prev.orbit_level) AS moved_up,
            countIf(cur.orbit_level = prev.orbit_level) AS held,
            countIf(cur.orbit_level > prev.orbit_level) AS moved_down
        FROM levels AS prev
        INNER JOIN levels AS cur ON cur.canonical_id = prev.canonical_id AND cur.j = prev.j + 1
        WHERE prev.orbit_level BETWEEN 1 AND 4 AND cur.orbit_level BETWEEN 1 AND 4
        GROUP BY k, from_level
    )
SELECT
    start_at + toIntervalMillisecond(toInt64(g.k) * period_ms) AS period_start,
    g.from_level AS from_level,
    m.members AS members,
    m.moved_up AS moved_up,
    m.held AS held,
    m.moved_down AS moved_down
FROM (
    SELECT k, toUInt8(from_level) AS from_level
    FROM (SELECT arrayJoin(range(0, toUInt64(greatest(periods, 0)))) AS k)
    ARRAY JOIN [1, 2, 3, 4] AS from_level
) AS g
LEFT JOIN moves AS m ON m.k = g.k AND m.from_level = g.from_level
ORDER BY period_start, from_level
SETTINGS join_use_nulls = 0
