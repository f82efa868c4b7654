-- Questions resolved in the community vs support tickets, per period (docs/analyses.md).
--
-- community_resolved  questions (distinct post_id) whose first AnswerAccepted falls in the period;
-- tickets_opened      distinct ticket_id of SupportTicketOpened in the period;
-- deflection          community_resolved / (community_resolved + tickets_opened).
-- Periods are [start + k * period_days, start + (k + 1) * period_days), complete ones
-- before end; every period is listed, with zeros when nothing happened.
--
-- Parameters: start, end DateTime64(3); period_days UInt16.
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    toInt64({period_days:UInt16}) * 86400000 AS period_ms,
    intDiv(toUnixTimestamp64Milli({end:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(start_at), period_ms)
        AS periods,
    toUnixTimestamp64Milli(start_at) + periods * period_ms AS end_ms,
    resolved AS (
        SELECT intDiv(toUnixTimestamp64Milli(first_accepted) - toUnixTimestamp64Milli(start_at), period_ms) AS k,
               count() AS n
        FROM (
            SELECT post_id, min(occurred_at) AS first_accepted
            FROM events_final
            WHERE event_type = 'AnswerAccepted' AND post_id != ''
            GROUP BY post_id
        )
        WHERE first_accepted >= start_at AND toUnixTimestamp64Milli(first_accepted) < end_ms
        GROUP BY k
    ),
    tickets AS (
        SELECT intDiv(toUnixTimestamp64Milli(occurred_at) - toUnixTimestamp64Milli(start_at), period_ms) AS k,
               uniqExact(ticket_id) AS n
        FROM events_final
        WHERE event_type = 'SupportTicketOpened'
            AND occurred_at >= start_at AND toUnixTimestamp64Milli(occurred_at) < end_ms
        GROUP BY k
    )
SELECT
    start_at + toIntervalMillisecond(p.k * period_ms) AS period_start,
    r.n AS community_resolved,
    t.n AS tickets_opened,
    if(community_resolved + tickets_opened = 0, NULL,
       community_resolved / (community_resolved + tickets_opened)) AS deflection
FROM (SELECT arrayJoin(range(0, toUInt64(greatest(periods, 0)))) AS k) AS p
LEFT JOIN resolved AS r ON r.k = p.k
LEFT JOIN tickets AS t ON t.k = p.k
ORDER BY period_start
SETTINGS join_use_nulls = 0
