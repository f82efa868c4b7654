-- Mentor outcome: what followed a mentor suggestion, against similar users without one
-- (docs/analyses.md).
--
-- suggested      users with a mentor suggestion at or before as_of; anchor = their first
--                suggestion's suggested_at, error class = that suggestion's.
-- not suggested  users never suggested a mentor who had a failed ApiCall of an error class
--                some suggestion was made for; anchor = their first such call, error
--                class = its class.
-- Outcomes, over the followup_days after the anchor (measured once anchor + followup_days
-- <= as_of):
--   got_answer     a question the user posted (PostCreated) was first accepted
--                  (AnswerAccepted) in [anchor, anchor + followup_days];
--   error_stopped  a successful ApiCall (error_class '', status_code < 400) after the anchor
--                  and after the last failed call of the error class, within the followup;
-- and retained at day D: activity (any event but PlanChanged and SupportTicketClosed) in
-- [anchor + D - window_days, anchor + D), measured once anchor + D <= as_of.
-- Teammates (staff) are left out.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: as_of DateTime64(3); followup_days, day, window_days UInt16.
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    {followup_days:UInt16} AS f,
    {day:UInt16} AS d,
    teammates AS (
        SELECT DISTINCT canonical_id FROM events_resolved WHERE event_type = 'MemberJoined' AND is_teammate
    ),
    suggestions AS (
        SELECT canonical_id, error_class, suggested_at, suggestion_id
        FROM mentor_suggestions_final
        WHERE suggested_at <= as_of_at AND canonical_id NOT IN teammates
    ),
    people AS (
        SELECT 'suggested' AS grp, canonical_id,
               argMin(error_class, (suggested_at, suggestion_id)) AS anchor_class,
               min(suggested_at) AS anchor_at
        FROM suggestions
        GROUP BY canonical_id
        UNION ALL
        SELECT 'not suggested' AS grp, canonical_id,
               argMin(error_class, (occurred_at, event_id)) AS anchor_class,
               min(occurred_at) AS anchor_at
        FROM events_resolved
        WHERE event_type = 'ApiCall' AND error_class IN (SELECT error_class FROM suggestions)
            AND occurred_at <= as_of_at AND canonical_id != ''
            AND canonical_id NOT IN (SELECT canonical_id FROM suggestions)
            AND canonical_id NOT IN teammates
        GROUP BY canonical_id
    ),
    first_accepted AS (
        SELECT post_id, min(occurred_at) AS accepted_at
        FROM events_resolved WHERE event_type = 'AnswerAccepted' AND post_id != '' GROUP BY post_id
    ),
    answered AS (
        SELECT DISTINCT p.canonical_id
        FROM people AS p
        INNER JOIN events_resolved AS q ON q.canonical_id = p.canonical_id
        INNER JOIN first_accepted AS a ON a.post_id = q.post_id
        WHERE q.event_type = 'PostCreated'
            AND a.accepted_at >= p.anchor_at AND a.accepted_at <= p.anchor_at + toIntervalDay(f)
    ),
    followed AS (
        -- per user: the last failure of the class and the last success in the followup,
        -- and whether active in the week before day d
        SELECT
            p.canonical_id AS canonical_id,
            maxOrNullIf(e.occurred_at, e.event_type = 'ApiCall' AND e.error_class = p.anchor_class
                        AND e.occurred_at > p.anchor_at AND e.occurred_at <= p.anchor_at + toIntervalDay(f))
                AS last_failed_at,
            maxOrNullIf(e.occurred_at, e.event_type = 'ApiCall' AND e.error_class = '' AND e.status_code < 400
                        AND e.occurred_at > p.anchor_at AND e.occurred_at <= p.anchor_at + toIntervalDay(f))
                AS last_ok_at,
            ifNull(last_ok_at > ifNull(last_failed_at, p.anchor_at), false) AS stopped,
            max(e.event_type NOT IN ('PlanChanged', 'SupportTicketClosed')
                AND e.occurred_at >= p.anchor_at + toIntervalDay(d - {window_days:UInt16})
                AND e.occurred_at < p.anchor_at + toIntervalDay(d)) AS retained
        FROM people AS p
        INNER JOIN events_resolved AS e ON e.canonical_id = p.canonical_id
        GROUP BY p.canonical_id, p.anchor_class, p.anchor_at
    )
SELECT
    p.grp AS segment,
    count() AS users,
    countIf(p.anchor_at + toIntervalDay(f) <= as_of_at) AS measured_followup,
    countIf(p.anchor_at + toIntervalDay(f) <= as_of_at AND p.canonical_id IN answered) AS got_answer,
    if(measured_followup = 0, NULL, got_answer / measured_followup) AS got_answer_share,
    countIf(p.anchor_at + toIntervalDay(f) <= as_of_at AND o.stopped) AS error_stopped,
    if(measured_followup = 0, NULL, error_stopped / measured_followup) AS error_stopped_share,
    countIf(p.anchor_at + toIntervalDay(d) <= as_of_at) AS measured_day,
    countIf(p.anchor_at + toIntervalDay(d) <= as_of_at AND o.retained) AS retained_day,
    if(measured_day = 0, NULL, retained_day / measured_day) AS retention_day
FROM people AS p
LEFT JOIN followed AS o ON o.canonical_id = p.canonical_id
GROUP BY segment
ORDER BY segment DESC
SETTINGS join_use_nulls = 0
