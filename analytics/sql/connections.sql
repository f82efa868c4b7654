-- Meaningful connections per member at the end of each period: the Orbit playbook's
-- network density, as a trend (docs/analyses.md; network_density.sql gives today's density
-- by level).
--
-- members      users with an Orbit level 1-4 at the period's end (the period_orbit_levels
--              view, migration 0003);
-- connections  distinct unordered pairs of two such members joined by a conversation: a
--              REPLY, ANSWER or MENTION relationship edge, either way, in the
--              connection_window_days before the period's end (reactions alone are not a
--              conversation);
-- connections_per_member  2 x connections / members: each pair is a connection of both;
-- connected_members / connected_share  members with at least one connection.
-- Every period is listed.
--
-- Parameters: start, end DateTime64(3); period_days, connection_window_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    {end:DateTime64(3, 'UTC')} AS end_at,
    {period_days:UInt16} AS days,
    levels AS (
        SELECT k, canonical_id
        FROM period_orbit_levels(start = start_at, end = end_at, period_days = days)
        WHERE level_at_end BETWEEN 1 AND 4
    ),
    pairs AS (
        SELECT DISTINCT p.k AS k, e.a AS a, e.b AS b
        FROM (
            SELECT least(from_canonical_id, to_canonical_id) AS a,
                   greatest(from_canonical_id, to_canonical_id) AS b,
                   occurred_at
            FROM relationship_edges_final
            WHERE kind IN ('REPLY', 'ANSWER', 'MENTION') AND from_canonical_id != to_canonical_id
        ) AS e
        CROSS JOIN window_periods(start = start_at, end = end_at, period_days = days) AS p
        WHERE e.occurred_at < p.period_end
            AND e.occurred_at >= p.period_end - toIntervalDay({connection_window_days:UInt16})
    ),
    member_pairs AS (
        SELECT pr.k AS k, pr.a AS a, pr.b AS b
        FROM pairs AS pr
        INNER JOIN levels AS la ON la.k = pr.k AND la.canonical_id = pr.a
        INNER JOIN levels AS lb ON lb.k = pr.k AND lb.canonical_id = pr.b
    ),
    per_period AS (
        SELECT k, count() AS connections FROM member_pairs GROUP BY k
    ),
    connected AS (
        SELECT k, uniqExact(member) AS connected_members FROM member_pairs ARRAY JOIN [a, b] AS member GROUP BY k
    ),
    level_members AS (
        SELECT k, count() AS members FROM levels GROUP BY k
    )
SELECT
    p.period_end AS period_end,
    m.members AS members,
    c.connections AS connections,
    if(members = 0, NULL, 2 * connections / members) AS connections_per_member,
    n.connected_members AS connected_members,
    if(members = 0, NULL, connected_members / members) AS connected_share
FROM window_periods(start = start_at, end = end_at, period_days = days) AS p
LEFT JOIN level_members AS m ON m.k = p.k
LEFT JOIN per_period AS c ON c.k = p.k
LEFT JOIN connected AS n ON n.k = p.k
ORDER BY period_end
SETTINGS join_use_nulls = 0
