-- Mentor outcome: what followed a mentor suggestion, against similar users without one
-- (docs/analyses.md).
--
-- suggested      users with a mentor suggestion at or before as_of; anchor = their first
--                suggestion's suggested_at, error class = that suggestion's.
-- not suggested  users never suggested a mentor who had a failed ApiCall of an error class
--                some suggestion (of anyone's) was made for; anchor = their first such call,
--                error class = its class.
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
-- Events are read from events_resolved (deduplicated, each under its identity's current
-- user) in one pass, per user as arrays: the view re-resolves every event each time it is read.
-- Parameters: as_of DateTime64(3); followup_days, day, window_days UInt16.
WITH
    {as_of:DateTime64(3, 'UTC')} AS as_of_at,
    {followup_days:UInt16} AS f,
    {day:UInt16} AS d,
    {window_days:UInt16} AS w,
    (SELECT groupUniqArray(error_class) FROM mentor_suggestions_final WHERE suggested_at <= as_of_at)
        AS suggested_classes,
    first_suggestion AS (
        SELECT canonical_id,
               argMin(error_class, (suggested_at, suggestion_id)) AS first_class,
               min(suggested_at) AS first_at
        FROM mentor_suggestions_final
        WHERE suggested_at <= as_of_at
        GROUP BY canonical_id
    ),
    first_accepted AS (
        -- a question's first accepted answer (post ids need no identity resolution)
        SELECT post_id, min(occurred_at) AS accepted_at
        FROM events_final WHERE event_type = 'AnswerAccepted' AND post_id != '' GROUP BY post_id
    ),
    users AS (
        SELECT
            e.canonical_id AS canonical_id,
            maxIf(e.is_teammate, e.event_type = 'MemberJoined') AS teammate,
            -- (time, event id, error class, succeeded) of every API call, in time order
            arraySort(groupArrayIf(
                (e.occurred_at, e.event_id, e.error_class, e.error_class = '' AND e.status_code < 400),
                e.event_type = 'ApiCall'
            )) AS calls,
            -- when each of the user's questions was first answered
            groupArrayIf(a.accepted_at, e.event_type = 'PostCreated' AND a.post_id != '') AS answered_at,
            groupArrayIf(e.occurred_at, e.event_type NOT IN ('PlanChanged', 'SupportTicketClosed')) AS active_at
        FROM events_resolved AS e
        LEFT JOIN first_accepted AS a ON a.post_id = e.post_id
        WHERE e.canonical_id != '' AND e.occurred_at <= as_of_at
        GROUP BY e.canonical_id
    ),
    people AS (
        SELECT
            u.canonical_id AS canonical_id,
            s.canonical_id != '' AS suggested,  -- '' when there is no suggestion (join_use_nulls 0)
            -- the first failed call of a suggested-for class; a zero tuple when there is none
            arrayFirst(c -> c.3 != '' AND has(suggested_classes, c.3), u.calls) AS first_failure,
            if(suggested, s.first_class, first_failure.3) AS anchor_class,
            if(suggested, s.first_at, first_failure.1) AS anchor_at,
            anchor_at + toIntervalDay(f) AS followup_end,
            arrayLast(c -> c.3 = anchor_class AND c.1 > anchor_at AND c.1 <= followup_end, u.calls).1
                AS last_failed_at,
            arrayLast(c -> c.4 AND c.1 > anchor_at AND c.1 <= followup_end, u.calls).1 AS last_ok_at,
            last_ok_at > greatest(anchor_at, last_failed_at) AS stopped,
            arrayExists(t -> t >= anchor_at AND t <= followup_end, u.answered_at) AS got,
            arrayExists(t -> t >= anchor_at + toIntervalDay(d - w) AND t < anchor_at + toIntervalDay(d),
                        u.active_at) AS retained
        FROM users AS u
        LEFT JOIN first_suggestion AS s ON s.canonical_id = u.canonical_id
        WHERE NOT u.teammate AND (suggested OR first_failure.3 != '')
    )
SELECT
    if(suggested, 'suggested', 'not suggested') AS segment,
    count() AS users,
    countIf(followup_end <= as_of_at) AS measured_followup,
    countIf(followup_end <= as_of_at AND got) AS got_answer,
    if(measured_followup = 0, NULL, got_answer / measured_followup) AS got_answer_share,
    countIf(followup_end <= as_of_at AND stopped) AS error_stopped,
    if(measured_followup = 0, NULL, error_stopped / measured_followup) AS error_stopped_share,
    countIf(anchor_at + toIntervalDay(d) <= as_of_at) AS measured_day,
    countIf(anchor_at + toIntervalDay(d) <= as_of_at AND retained) AS retained_day,
    if(measured_day = 0, NULL, retained_day / measured_day) AS retention_day
FROM people
GROUP BY segment
ORDER BY segment DESC  -- suggested first
SETTINGS join_use_nulls = 0
