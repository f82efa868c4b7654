"""The sink's progress: its counters, the lag of its group, the line it logs every 10 s."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SinkStats:
    """Progress counters (read by tests, the CLI's progress log and the demo)."""

    consumed: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    batches_inserted: int = 0
    insert_failures: int = 0
    commits: int = 0
    commit_failures: int = 0
    pauses: int = 0
    paused: bool = False
    buffered: int = 0
    max_buffered: int = 0
    last_error: str | None = None


def consumer_lag(consumer: Any, timeout: float = 5.0, cached: bool = False) -> dict[str, int]:
    """Messages not yet committed (so not known to be in the warehouse), per ``topic[partition]``.

    ``cached`` uses the high watermarks of the last fetches instead of asking the broker.
    """
    assignment = consumer.assignment()
    if not assignment:
        return {}
    committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(assignment, timeout)}
    lag: dict[str, int] = {}
    for tp in assignment:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=cached)
        if high < 0:
            continue  # nothing fetched yet (cached)
        done = committed.get((tp.topic, tp.partition), -1)
        lag[f"{tp.topic}[{tp.partition}]"] = high - (done if done >= 0 else max(low, 0))
    return lag


def progress_line(s: SinkStats, lag: int | str) -> str:
    return (
        f"consumed {s.consumed}, rows {dict(s.rows)}, dead-lettered {s.dead_lettered}, "
        f"buffered {s.buffered}{' (paused)' if s.paused else ''}, "
        f"insert failures {s.insert_failures}, lag {lag}"
    )
