"""Small read-side helpers over the sink's tables (used by the demo and the benchmarks)."""

from __future__ import annotations

from typing import Any


def count_rows(client: Any, database: str, table: str) -> int:
    """Rows as analysts see them: deduplicated (FINAL)."""
    result: int = client.command(f"SELECT count() FROM {database}.{table} FINAL")
    return result


def count_event_scores(client: Any, database: str) -> int:
    """Score updates made by events, not by identity merges (docs/identity.md)."""
    result: int = client.command(
        f"SELECT count() FROM {database}.engagement_scores FINAL WHERE NOT update_id LIKE '%:merge%'"
    )
    return result


def latency_summary(client: Any, database: str) -> dict[str, dict[str, float]]:
    """Quantiles (ms) of send -> score (worker) and send -> warehouse (sink) latency."""
    paths = {
        "send -> score emitted": (
            f"SELECT toUnixTimestamp64Milli(emitted_at) - toUnixTimestamp64Milli(source_sent_at) AS ms "
            f"FROM {database}.engagement_scores FINAL WHERE source_sent_at IS NOT NULL"
        ),
        "send -> row in ClickHouse": (
            f"SELECT toUnixTimestamp64Milli(ingested_at) - toUnixTimestamp64Milli(sent_at) AS ms "
            f"FROM {database}.events FINAL WHERE sent_at IS NOT NULL"
        ),
    }
    summary: dict[str, dict[str, float]] = {}
    for name, sql in paths.items():
        row = client.query(
            f"SELECT quantile(0.5)(ms), quantile(0.95)(ms), quantile(0.99)(ms), max(ms), count() FROM ({sql})"
        ).result_rows[0]
        summary[name] = dict(
            zip(("p50", "p95", "p99", "max", "n"), (float(v or 0) for v in row), strict=True)
        )
    return summary
