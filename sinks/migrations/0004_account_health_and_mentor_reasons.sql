-- Account health (docs/health.md) and why each mentor was suggested (docs/streams.md,
-- "Mentor loops"). Same deduplication rules as 0001_init.sql.

-- One row per account-health output: emitted when a user's health changes.
CREATE TABLE IF NOT EXISTS account_health (
    health_id String,
    canonical_id String,
    health Float64,
    usage_component Float64,
    community_component Float64,
    risk_component Float64,
    recent_per_day Float64,
    baseline_per_day Float64,
    orbit_level UInt8,
    open_risks Array(LowCardinality(String)),
    plan Nullable(String),
    plan_usage_share Nullable(Float64),
    expansion_signal Bool,
    as_of DateTime64(3, 'UTC'),
    source_event_id String,
    source_occurred_at DateTime64(3, 'UTC'),
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(source_occurred_at)
ORDER BY (canonical_id, health_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE VIEW IF NOT EXISTS account_health_final AS SELECT * FROM account_health FINAL;

-- Each user's latest health (ties on as_of go to the later health_id: the same values).
CREATE VIEW IF NOT EXISTS account_health_latest AS
SELECT
    canonical_id,
    latest.1 AS health,
    latest.2 AS usage_component,
    latest.3 AS community_component,
    latest.4 AS risk_component,
    latest.5 AS orbit_level,
    latest.6 AS open_risks,
    latest.7 AS plan,
    latest.8 AS plan_usage_share,
    latest.9 AS expansion_signal,
    latest.10 AS as_of,
    latest.11 AS health_id
FROM (
    SELECT
        canonical_id,
        argMax(
            (health, usage_component, community_component, risk_component, orbit_level, open_risks, plan,
             plan_usage_share, expansion_signal, as_of, health_id),
            (as_of, health_id)
        ) AS latest
    FROM account_health
    GROUP BY canonical_id
);

-- MentorSuggestion v2: the pattern that caused a suggestion and each mentor's reasons.
-- Rows loaded before hold the defaults (levels 0, reasons '', one error).
ALTER TABLE mentor_suggestions
    ADD COLUMN IF NOT EXISTS mentor_orbit_levels Array(UInt8) AFTER mentor_last_solved_at,
    ADD COLUMN IF NOT EXISTS mentor_is_inner Array(Bool) AFTER mentor_orbit_levels,
    ADD COLUMN IF NOT EXISTS mentor_reasons Array(String) AFTER mentor_is_inner,
    ADD COLUMN IF NOT EXISTS error_count Int32 DEFAULT 1 AFTER suggested_at,
    ADD COLUMN IF NOT EXISTS first_error_at Nullable(DateTime64(3, 'UTC')) AFTER error_count;

-- A view's columns are fixed when it is created: made again to show the new ones.
DROP VIEW IF EXISTS mentor_suggestions_final;
CREATE VIEW mentor_suggestions_final AS SELECT * FROM mentor_suggestions FINAL;
