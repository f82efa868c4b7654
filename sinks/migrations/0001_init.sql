-- Every table is keyed on the deterministic id of what it stores, with ReplacingMergeTree
-- (latest ingested_at wins) so a row delivered twice collapses at merge time and in FINAL
-- queries; non_replicated_deduplication_window lets ClickHouse drop a retried identical
-- insert (same insert_deduplication_token) at insert time. See docs/sink.md.

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
    feature String DEFAULT '',
    is_key_feature Bool DEFAULT false,
    status_code UInt16 DEFAULT 0,
    error_class String DEFAULT '',
    plan_change LowCardinality(String) DEFAULT '',
    to_plan String DEFAULT '',
    mrr_cents Int64 DEFAULT 0,
    ticket_id String DEFAULT '',
    resolution String DEFAULT '',
    support_topic String DEFAULT '',
    post_id String DEFAULT '',
    is_question Bool DEFAULT false,
    tags Array(String) DEFAULT [],
    community LowCardinality(String) DEFAULT '',
    is_teammate Bool DEFAULT false,
    step_index UInt16 DEFAULT 0,
    total_steps UInt16 DEFAULT 0,
    payload String,
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (area, event_type, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS identity_links (
    link_id String,
    occurred_at DateTime64(3, 'UTC'),
    source LowCardinality(String),
    provider LowCardinality(String),
    external_id String,
    linked_provider LowCardinality(String),
    linked_external_id String,
    canonical_id String DEFAULT '',
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
    canonical_id String DEFAULT '',
    linked_canonical_id String DEFAULT '',
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
    event_count UInt64,
    as_of DateTime64(3, 'UTC'),
    source_event_id String,
    source_occurred_at DateTime64(3, 'UTC'),
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(as_of)
ORDER BY (canonical_id, as_of, update_id)
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
ORDER BY (reason, canonical_id, trigger_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS relationship_edges (
    edge_id String,
    from_canonical_id String,
    to_canonical_id String,
    kind LowCardinality(String),
    weight Float64,
    occurred_at DateTime64(3, 'UTC'),
    source_event_id String,
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
    mentor_solved_counts Array(UInt32),
    suggested_at DateTime64(3, 'UTC'),
    source_event_id String,
    source_sent_at Nullable(DateTime64(3, 'UTC')),
    emitted_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (suggested_at, suggestion_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS dead_letters (
    dead_letter_id String,
    source_topic LowCardinality(String),
    source_partition UInt32,
    source_offset UInt64,
    stage LowCardinality(String),
    error_class LowCardinality(String),
    error String,
    key Nullable(String),
    value Nullable(String),
    failed_at DateTime64(3, 'UTC'),
    replayed_at Nullable(DateTime64(3, 'UTC')),
    ingested_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (source_topic, source_partition, source_offset, dead_letter_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Latest score and orbit level per user, for analysts.
CREATE VIEW IF NOT EXISTS engagement_latest AS
SELECT
    canonical_id,
    argMax(score, as_of) AS score,
    argMax(product_score, as_of) AS product_score,
    argMax(community_score, as_of) AS community_score,
    argMax(orbit_level, as_of) AS orbit_level,
    argMax(reach, as_of) AS reach,
    argMax(is_member, as_of) AS is_member,
    max(as_of) AS latest_as_of
FROM engagement_scores FINAL
GROUP BY canonical_id;
