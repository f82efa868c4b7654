-- Network density per Orbit level as of a time (docs/analyses.md).
--
-- members      users whose level at as_of (latest engagement score update with
--              as_of <= as_of, by as_of, event_count, update_id) is that level;
-- connections  distinct unordered pairs of two such members joined by at least one
--              relationship edge of any kind, in either direction, at or before as_of;
-- density      connections / (members * (members - 1) / 2), NULL below two members;
-- connections_per_member  connections / members (a member's average number of
--              same-level connections is twice this).
-- Every level 1-4 is listed.
--
-- Parameters: as_of DateTime64(3).
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    levels AS (
        SELECT canonical_id, argMax(orbit_level, (as_of, event_count, update_id)) AS orbit_level
        FROM engagement_scores
        WHERE as_of <= as_of_at
        GROUP BY canonical_id
        HAVING orbit_level BETWEEN 1 AND 4
    ),
    pairs AS (
        SELECT DISTINCT
            least(from_canonical_id, to_canonical_id) AS a,
            greatest(from_canonical_id, to_canonical_id) AS b
        FROM relationship_edges_final
        WHERE occurred_at <= as_of_at AND from_canonical_id != to_canonical_id
    ),
    level_pairs AS (
        SELECT la.orbit_level AS orbit_level, count() AS connections
        FROM pairs AS p
        INNER JOIN levels AS la ON la.canonical_id = p.a
        INNER JOIN levels AS lb ON lb.canonical_id = p.b
        WHERE la.orbit_level = lb.orbit_level
        GROUP BY orbit_level
    ),
    level_members AS (
        SELECT orbit_level, count() AS members FROM levels GROUP BY orbit_level
    )
SELECT
    g.orbit_level AS orbit_level,
    m.members AS members,
    c.connections AS connections,
    if(members < 2, NULL, connections / (members * (members - 1) / 2)) AS density,
    if(members = 0, NULL, connections / members) AS connections_per_member
FROM (SELECT toUInt8(arrayJoin([1, 2, 3, 4])) AS orbit_level) AS g
LEFT JOIN level_members AS m ON m.orbit_level = g.orbit_level
LEFT JOIN level_pairs AS c ON c.orbit_level = g.orbit_level
ORDER BY orbit_level
SETTINGS join_use_nulls = 0
