-- Transactional vs relational: support requests against collaborative interactions, per
-- period, members vs non-members (docs/analyses.md).
--
-- Support requests (transactional), by the user who needs help:
--   tickets               SupportTicketOpened;
--   unanswered_questions  questions (PostCreated with is_question) with no ReplyCreated by
--                         another user within unanswered_hours of being posted.
-- Collaborative interactions (relational), by the user who gives:
--   replies_to_others     ReplyCreated on a post the user did not create;
--   answers_accepted      AnswerAccepted (its user is the answerer);
--   mentions              Mention;
--   events_attended       EventAttended.
-- Each is counted in the period it happened in; relational_share = collaborative /
-- (collaborative + support requests), NULL when both are 0; users = distinct users with
-- any of them. Member = joined the community (MemberJoined) before the period starts.
-- Every period is listed for both segments. Teammates (staff) are left out.
--
-- Events are read from events_resolved: deduplicated, each under its identity's current user.
-- Parameters: start, end DateTime64(3); period_days, unanswered_hours UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    {end:DateTime64(3, 'UTC')} AS end_at,
    {period_days:UInt16} AS days,
    toInt64(days) * 86400000 AS period_ms,
    joined AS (
        -- found: false for a user with no MemberJoined (join_use_nulls 0 gives the default)
        SELECT canonical_id, min(occurred_at) AS joined_at, max(is_teammate) AS teammate, true AS found
        FROM events_resolved WHERE event_type = 'MemberJoined' GROUP BY canonical_id
    ),
    threads AS (
        -- per post: who posted it and who replied when (one pass: the view re-resolves every
        -- event each time it is read)
        SELECT
            post_id,
            argMinIf(canonical_id, occurred_at, event_type = 'PostCreated') AS author,
            groupArrayIf((canonical_id, occurred_at), event_type = 'ReplyCreated') AS replies
        FROM events_resolved
        WHERE post_id != '' AND event_type IN ('PostCreated', 'ReplyCreated')
        GROUP BY post_id
    ),
    acts AS (
        SELECT
            e.canonical_id AS canonical_id,
            intDiv(toUnixTimestamp64Milli(e.occurred_at) - toUnixTimestamp64Milli(start_at), period_ms) AS k,
            multiIf(
                e.event_type = 'SupportTicketOpened', 'ticket',
                e.event_type = 'PostCreated' AND e.is_question
                    AND NOT arrayExists(
                        r -> r.1 != e.canonical_id AND r.2 >= e.occurred_at
                             AND r.2 <= e.occurred_at + toIntervalHour({unanswered_hours:UInt16}),
                        t.replies
                    ), 'unanswered',
                e.event_type = 'ReplyCreated' AND t.author != e.canonical_id, 'reply',
                e.event_type = 'AnswerAccepted', 'answer',
                e.event_type = 'Mention', 'mention',
                e.event_type = 'EventAttended', 'attended',
                ''
            ) AS kind,
            j.found AND j.joined_at < start_at + toIntervalMillisecond(k * period_ms) AS is_member
        FROM events_resolved AS e
        LEFT JOIN joined AS j ON j.canonical_id = e.canonical_id
        LEFT JOIN threads AS t ON t.post_id = e.post_id
        WHERE e.canonical_id != '' AND NOT j.teammate
            AND e.occurred_at >= start_at AND e.occurred_at < end_at
    ),
    counts AS (
        SELECT
            k,
            if(is_member, 'member', 'non-member') AS segment,
            uniqExact(canonical_id) AS users,
            countIf(kind = 'ticket') AS tickets,
            countIf(kind = 'unanswered') AS unanswered_questions,
            countIf(kind = 'reply') AS replies_to_others,
            countIf(kind = 'answer') AS answers_accepted,
            countIf(kind = 'mention') AS mentions,
            countIf(kind = 'attended') AS events_attended
        FROM acts
        WHERE kind != ''
        GROUP BY k, segment
    )
SELECT
    p.period_start AS period_start,
    s.segment AS segment,
    c.users AS users,
    c.tickets AS tickets,
    c.unanswered_questions AS unanswered_questions,
    tickets + unanswered_questions AS support_requests,
    c.replies_to_others AS replies_to_others,
    c.answers_accepted AS answers_accepted,
    c.mentions AS mentions,
    c.events_attended AS events_attended,
    replies_to_others + answers_accepted + mentions + events_attended AS collaborative,
    if(collaborative + support_requests = 0, NULL, collaborative / (collaborative + support_requests))
        AS relational_share
FROM window_periods(start = start_at, end = end_at, period_days = days) AS p
CROSS JOIN (SELECT arrayJoin(['member', 'non-member']) AS segment) AS s
LEFT JOIN counts AS c ON c.k = p.k AND c.segment = s.segment
ORDER BY period_start, segment
SETTINGS join_use_nulls = 0
