-- Parameterised views the packaged analyses share (sinks/analyses/sql/, docs/analyses.md,
-- "Shared views"). Query one like a table function, naming its parameters:
--   SELECT * FROM window_periods(start = '2026-03-02', end = '2026-03-16', period_days = 7)
-- A view calls another by its unqualified name, which resolves in the current database:
-- query them with the warehouse database as the current one, as the analyses do.

-- window_periods(start, end DateTime64(3, 'UTC'), period_days UInt16): the window's periods,
-- [start + k * period_days, start + (k + 1) * period_days) for every complete period before
-- end (none when end is before start + period_days). Columns: k (0, 1, ..), period_start,
-- period_end.
CREATE VIEW IF NOT EXISTS window_periods AS
WITH
    {start:DateTime64(3, 'UTC')} AS start_at,
    toInt64({period_days:UInt16}) * 86400000 AS period_ms,
    intDiv(toUnixTimestamp64Milli({end:DateTime64(3, 'UTC')}) - toUnixTimestamp64Milli(start_at), period_ms)
        AS periods
SELECT
    k,
    start_at + toIntervalMillisecond(k * period_ms) AS period_start,
    start_at + toIntervalMillisecond((k + 1) * period_ms) AS period_end
FROM (SELECT arrayJoin(range(0, toUInt64(greatest(periods, 0)))) AS k);

-- window_period_levels(start, end, period_days as window_periods): every period of the window
-- with every Orbit level 1-4, for tables that list each level in each period (0 when empty).
-- Columns: k, period_start, period_end, orbit_level (UInt8).
CREATE VIEW IF NOT EXISTS window_period_levels AS
SELECT k, period_start, period_end, toUInt8(orbit_level) AS orbit_level
FROM window_periods(
    start = {start:DateTime64(3, 'UTC')}, end = {end:DateTime64(3, 'UTC')}, period_days = {period_days:UInt16}
)
ARRAY JOIN [1, 2, 3, 4] AS orbit_level;

-- period_orbit_levels(start, end, period_days as window_periods): each user's Orbit level at
-- the start and at the end of each period of the window. A user's level at a time is the
-- orbit_level of their latest engagement score update (by as_of, then event_count, then
-- update_id, as engagement_latest orders them) with as_of strictly before that time; 0 when
-- there is none. argMax needs no FINAL: a duplicated update carries the same values.
-- One row per period and user with an update before the period's end. Columns:
-- canonical_id, k, period_start, period_end, level_at_start, level_at_end.
CREATE VIEW IF NOT EXISTS period_orbit_levels AS
SELECT
    s.canonical_id AS canonical_id,
    p.k AS k,
    p.period_start AS period_start,
    p.period_end AS period_end,
    argMaxIf(s.orbit_level, (s.as_of, s.event_count, s.update_id), s.as_of < p.period_start) AS level_at_start,
    argMax(s.orbit_level, (s.as_of, s.event_count, s.update_id)) AS level_at_end
FROM engagement_scores AS s
CROSS JOIN window_periods(
    start = {start:DateTime64(3, 'UTC')}, end = {end:DateTime64(3, 'UTC')}, period_days = {period_days:UInt16}
) AS p
WHERE s.as_of < p.period_end
GROUP BY canonical_id, k, period_start, period_end;

-- signup_cohort(as_of DateTime64(3, 'UTC'), member_within_days UInt16): the users who signed
-- up at or before as_of, read from events_resolved (deduplicated, each event under its
-- identity's current user). signed_up_at: the user's first PlanChanged with plan_change =
-- 'SIGNUP' (users without one are in no cohort); is_member: joined the community
-- (MemberJoined) at most member_within_days after signing up. Teammates (a MemberJoined
-- with is_teammate) are left out. Columns: canonical_id, signed_up_at, is_member.
CREATE VIEW IF NOT EXISTS signup_cohort AS
SELECT
    canonical_id,
    assumeNotNull(first_signup) AS signed_up_at,
    ifNull(joined_at <= first_signup + toIntervalDay({member_within_days:UInt16}), false) AS is_member
FROM (
    SELECT
        canonical_id,
        minOrNullIf(occurred_at, event_type = 'PlanChanged' AND plan_change = 'SIGNUP') AS first_signup,
        minOrNullIf(occurred_at, event_type = 'MemberJoined') AS joined_at,
        maxIf(is_teammate, event_type = 'MemberJoined') AS teammate
    FROM events_resolved
    WHERE canonical_id != '' AND occurred_at <= {as_of:DateTime64(3, 'UTC')}
    GROUP BY canonical_id
)
WHERE first_signup IS NOT NULL AND NOT teammate;
