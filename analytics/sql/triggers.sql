-- Churn-risk triggers by reason, and how many triggered users came back (docs/analyses.md).
--
-- triggers         triggers (distinct trigger_id) fired in [start, end);
-- users            distinct users they fired for;
-- users_came_back  of those, users with an activity event (any event but PlanChanged
--                  and the support team's SupportTicketClosed) after a trigger of that
--                  reason fired for them and at or before as_of.
-- Teammates (staff) are left out.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: start, end, as_of DateTime64(3).
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    teammates AS (
        SELECT DISTINCT canonical_id FROM events_resolved WHERE event_type = 'MemberJoined' AND is_teammate
    ),
    fired AS (
        SELECT trigger_id, canonical_id, toString(reason) AS reason, fired_at
        FROM churn_triggers_final
        WHERE fired_at >= {start:DateTime64(3, 'UTC')} AND fired_at < {end:DateTime64(3, 'UTC')}
            AND canonical_id NOT IN teammates
    ),
    came_back AS (
        SELECT DISTINCT f.trigger_id
        FROM fired AS f
        INNER JOIN events_resolved AS e ON e.canonical_id = f.canonical_id
        WHERE e.event_type NOT IN ('PlanChanged', 'SupportTicketClosed')
            AND e.occurred_at > f.fired_at AND e.occurred_at <= as_of_at
    )
SELECT
    reason,
    count() AS triggers,
    uniqExact(canonical_id) AS users,
    uniqExactIf(canonical_id, trigger_id IN came_back) AS users_came_back,
    users_came_back / users AS came_back_share
FROM fired
GROUP BY reason
ORDER BY triggers DESC, reason
