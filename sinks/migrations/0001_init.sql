-- orbitstream warehouse schema, version 1. Column meanings: docs/sink.md.
--
-- Duplicates are impossible for analysts by two mechanisms (docs/sink.md, "Deduplication"):
-- 1. every table is a ReplacingMergeTree whose ORDER BY ends in the record's deterministic
--    id, so a row delivered twice collapses in merges and is never seen through FINAL or
--    the *_final views; ORDER BY and PARTITION BY use only columns that cannot change for
--    a given id (producer-set times, the id itself), else the copies would not meet;
-- 2. non_replicated_deduplication_window keeps the last block ids per table, so a retried
--    insert with the same insert_deduplication_token is dropped at insert time.
-- Text columns that hold a few distinct values are LowCardinality. Columns that do not
-- apply to an event type hold their type's default ('' / 0 / false / []).

CREATE TABLE IF NOT EXISTS events (
    event_id String,
    event_type LowCardinality(String),
    area LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    sent_at Nullable(DateTime64(3, 'UTC')),
    source LowCardinality(String),
    provider LowCardinality(String),
    external_id String,
    canonical_id String,
    feature LowCardinality(String),
    is_key_feature Bool,
    endpoint LowCardinality(String),
    status_code Int32,
    latency_ms Int32,
    error_class LowCardinality(String),
    session_id String,
    platform LowCardinality(String),
    plan_change LowCardinality(String),
    from_plan LowCardinality(String),
    to_plan LowCardinality(String),
    mrr_cents Int64,
    ticket_id String,
    ticket_topic LowCardinality(String),
    resolution LowCardinality(String),
    post_id String,
    reply_id String,
    channel LowCardinality(String),
    is_question Bool,
    tags Array(LowCardinality(String)),
    community LowCardinality(String),
    is_teammate Bool,
    onboarding_step LowCardinality(String),
    step_index Int32,
    total_steps Int32,
    reaction LowCardinality(String),
    community_event_name String,
    community_event_kind LowCardinality(String),
    counterpart_provider LowCardinality(String),
    counterpart_external_id String,
    payload String,
    kafka_topic LowCardinality(String),
    kafka_partition Int32,
    kafka_offset Int64,
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (area, event_type, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS identity_links (
    link_id String,
    occurred_at DateTime64(3, 'UTC'),
    sent_at Nullable(DateTime64(3, 'UTC')),
    source LowCardinality(String),
    provider LowCardinality(String),
    external_id String,
    linked_provider LowCardinality(String),
    linked_external_id String,
    canonical_id String,
    kafka_topic LowCardinality(String),
    kafka_partition Int32,
    kafka_offset Int64,
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, link_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS identity_refusals (
    refusal_id String,
    occurred_at DateTime64(3, 'UTC'),
    provider LowCardinality(String),
    external_id String,
    linked_provider LowCardinality(String),
    linked_external_id String,
    reason LowCardinality(String),
    canonical_id String,
    linked_canonical_id String,
    source_event_id String,
    source_occurred_at DateTime64(3, 'UTC'),
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (occurred_at, refusal_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS engagement_scores (
    update_id String,
    canonical_id String,
    score Float64,
    product_score Float64,
    community_score Float64,
    orbit_level UInt8,
    previous_orbit_level UInt8,
    reach Float64,
    is_member Bool,
    event_count Int64,
    as_of DateTime64(3, 'UTC'),
    source_event_id String,
    source_occurred_at DateTime64(3, 'UTC'),
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(source_occurred_at)
ORDER BY (canonical_id, update_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS churn_triggers (
    trigger_id String,
    canonical_id String,
    reason LowCardinality(String),
    evidence Map(String, String),
    episode_started_at DateTime64(3, 'UTC'),
    fired_at DateTime64(3, 'UTC'),
    source_event_id String,
    source_occurred_at DateTime64(3, 'UTC'),
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (canonical_id, trigger_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS relationship_edges (
    edge_id String,
    from_canonical_id String,
    to_canonical_id String,
    kind LowCardinality(String),
    weight Float64,
    occurred_at DateTime64(3, 'UTC'),
    source_event_id String,
    source_occurred_at DateTime64(3, 'UTC'),
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, edge_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS mentor_suggestions (
    suggestion_id String,
    canonical_id String,
    error_class LowCardinality(String),
    mentors Array(String),
    mentor_solved_counts Array(Int32),
    mentor_last_solved_at Array(DateTime64(3, 'UTC')),
    suggested_at DateTime64(3, 'UTC'),
    source_event_id String,
    source_occurred_at DateTime64(3, 'UTC'),
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (canonical_id, suggestion_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per message no stage could process, keyed on where that message was read
-- (source topic:partition:offset). Marking a dead letter replayed inserts a new version
-- of its row with replayed_at set and version = the replay time in ms, which wins over
-- the loaded row (version 0) even if that one is re-delivered later.
CREATE TABLE IF NOT EXISTS dead_letters (
    dead_letter_id String,
    source_topic LowCardinality(String),
    source_partition Int32,
    source_offset Int64,
    stage LowCardinality(String),
    error_class LowCardinality(String),
    error String,
    key Nullable(String),
    value Nullable(String),
    failed_at DateTime64(3, 'UTC'),
    replay_of String,
    replayed_at Nullable(DateTime64(3, 'UTC')),
    version UInt64,
    kafka_topic LowCardinality(String),
    kafka_partition Int32,
    kafka_offset Int64,
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source_topic, dead_letter_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- What analysts query: one row per id.
CREATE VIEW IF NOT EXISTS events_final AS SELECT * FROM events FINAL;
CREATE VIEW IF NOT EXISTS identity_links_final AS SELECT * FROM identity_links FINAL;
CREATE VIEW IF NOT EXISTS identity_refusals_final AS SELECT * FROM identity_refusals FINAL;
CREATE VIEW IF NOT EXISTS engagement_scores_final AS SELECT * FROM engagement_scores FINAL;
CREATE VIEW IF NOT EXISTS churn_triggers_final AS SELECT * FROM churn_triggers FINAL;
CREATE VIEW IF NOT EXISTS relationship_edges_final AS SELECT * FROM relationship_edges FINAL;
CREATE VIEW IF NOT EXISTS mentor_suggestions_final AS SELECT * FROM mentor_suggestions FINAL;
CREATE VIEW IF NOT EXISTS dead_letters_final AS SELECT * FROM dead_letters FINAL;

-- Latest score and orbit level per user. A duplicated update carries the same values, so
-- argMax needs no FINAL; ties on as_of go to the update that counted more events.
CREATE VIEW IF NOT EXISTS engagement_latest AS
SELECT
    canonical_id,
    latest.1 AS score,
    latest.2 AS product_score,
    latest.3 AS community_score,
    latest.4 AS orbit_level,
    latest.5 AS reach,
    latest.6 AS is_member,
    latest.7 AS event_count,
    latest.8 AS as_of,
    latest.9 AS update_id
FROM (
    SELECT
        canonical_id,
        argMax(
            (score, product_score, community_score, orbit_level, reach, is_member, event_count, as_of, update_id),
            (as_of, event_count, update_id)
        ) AS latest
    FROM engagement_scores
    GROUP BY canonical_id
);
