-- Members per Orbit level at the end of each period (docs/analyses.md).
--
-- A user's level at a time is the orbit_level of their latest engagement score update
-- (by as_of, then event_count, then update_id, as engagement_latest orders them) with
-- as_of before that time; 0 (not a member, or a teammate) is not counted. argMax needs
-- no FINAL: a duplicated update carries the same values. Period ends are
-- start + (k + 1) * period_days for every complete period before end; every level 1-4
-- is listed for every period, with 0 when empty.
--
-- Parameters: start, end DateTime64(3); period_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    toInt64({period_days:UInt16}) * 86400000 AS period_ms,
    intDiv(toUnixTimestamp64Milli({end:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(start_at), period_ms)
        AS periods,
    levels AS (
        SELECT canonical_id, k, argMax(orbit_level, (as_of, event_count, update_id)) AS orbit_level
        FROM engagement_scores
        ARRAY JOIN range(0, toUInt64(greatest(periods, 0))) AS k
        WHERE toUnixTimestamp64Milli(as_of) < toUnixTimestamp64Milli(start_at) + (k + 1) * period_ms
        GROUP BY canonical_id, k
    ),
    counts AS (
        SELECT k, orbit_level, count() AS members FROM levels WHERE orbit_level > 0 GROUP BY k, orbit_level
    )
SELECT
    start_at + toIntervalMillisecond((g.k + 1) * period_ms) AS period_end,
    g.orbit_level AS orbit_level,
    c.members AS members
FROM (
    SELECT k, toUInt8(orbit_level) AS orbit_level
    FROM (SELECT arrayJoin(range(0, toUInt64(greatest(periods, 0)))) AS k)
    ARRAY JOIN [1, 2, 3, 4] AS orbit_level
) AS g
LEFT JOIN counts AS c ON c.k = g.k AND c.orbit_level = g.orbit_level
ORDER BY period_end, orbit_level
SETTINGS join_use_nulls = 0
