"""Compare a run's warehouse with a reference run's: lost, duplicated, different.

- lost: an id the reference has and the run does not;
- duplicated: an id seen more than once through a ``_final`` view (what analysts see);
  copies stored before merges (``raw``) are reported too but expected: the sink is
  at-least-once into tables that collapse copies;
- state differences: rows of the same id with different content, rows only the run
  has, and users whose final score, level, event count or fired triggers differ.

Attribution to faults: a row is charged to the fault window in which its source event
was handed to the producer (window -1: before the first fault). A user whose state
drifted has every later update differ; only the user's first differing update is
charged to a window, so the per-fault column points at the fault that started it.

Attribution to identity links: a difference is also counted under ``linked`` when it
belongs to an id that an identity merge touched in either run (the person or the id
merged into it). Which of those ids an event was resolved with depends on when its link
arrived (docs/identity.md); the count says how much of what differs is that, and how
much is not. It changes no verdict: every difference fails the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.verify.snapshot import Snapshot, TableSnapshot


@dataclass
class TableDiff:
    lost: int = 0
    extra: int = 0
    changed: int = 0
    duplicated_final: int = 0
    duplicated_raw: int = 0
    # Of lost + extra + changed: rows of ids an identity merge touched (see above).
    linked: int = 0
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Comparison:
    tables: dict[str, TableDiff]
    users_differing: int
    users_examples: list[str]
    # window index -> (lost, duplicated, state differences)
    by_window: dict[int, Counter[str]]
    users_linked: int = 0

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.tables.values())

    @property
    def duplicated(self) -> int:
        return sum(t.duplicated_final for t in self.tables.values())

    @property
    def duplicated_raw(self) -> int:
        return sum(t.duplicated_raw for t in self.tables.values())

    @property
    def state_differences(self) -> int:
        return sum(t.changed + t.extra for t in self.tables.values()) + self.users_differing

    @property
    def total(self) -> int:
        return self.lost + self.duplicated + self.state_differences

    @property
    def linked(self) -> int:
        """Of the lost rows and state differences: those of ids an identity merge touched."""
        return sum(t.linked for t in self.tables.values()) + self.users_linked

    def to_json(self) -> dict[str, Any]:
        return {
            "lost": self.lost,
            "duplicated": self.duplicated,
            "duplicated_raw": self.duplicated_raw,
            "state_differences": self.state_differences,
            "users_differing": self.users_differing,
            "users_examples": self.users_examples,
            "linked": self.linked,
            "tables": {name: diff.to_json() for name, diff in self.tables.items()},
        }


def _window(positions: dict[str, int], starts: list[int], event_id: str | None) -> int | None:
    if event_id is None or event_id not in positions:
        return None
    at = positions[event_id]
    return sum(1 for s in starts if s <= at) - 1


def _diff_columns(columns: list[str], a: tuple[Any, ...], b: tuple[Any, ...]) -> str:
    return ", ".join(f"{c}: {x!r} -> {y!r}" for c, x, y in zip(columns, a, b, strict=True) if x != y)


def _user_column(columns: list[str]) -> int | None:
    for name in ("canonical_id", "from_canonical_id"):
        if name in columns:
            return columns.index(name)
    return None


def merged_ids(snap: Snapshot) -> set[str]:
    """Ids an identity merge touched: the person and the id merged into it (score updates
    ``<person>:merge:...`` and ``<old id>:merged-into:...``)."""
    scores = snap.tables.get("engagement_scores")
    if scores is None:
        return set()
    ids: set[str] = set()
    for key in scores.rows:
        canonical_id, _, rest = key.partition(":")
        if rest.startswith(("merge:", "merged-into:")):
            ids.add(canonical_id)
    return ids


def compare_table(
    ref: TableSnapshot,
    run: TableSnapshot,
    charge: Any,
    first_per_user: bool,
    linked_ids: frozenset[str] = frozenset(),
) -> TableDiff:
    diff = TableDiff()
    user_at = run.columns.index("canonical_id") if first_per_user else None
    run_user, ref_user = _user_column(run.columns), _user_column(ref.columns)

    def linked(row: tuple[Any, ...] | None, at: int | None) -> bool:
        return row is not None and at is not None and row[at] in linked_ids

    charged_users: set[str] = set()
    order = list(run.rows)
    if first_per_user:  # a user's updates in event-time order: the first difference is charged
        at = run.columns.index("source_occurred_at")
        order.sort(key=lambda k: (run.rows[k][at], k))
    for key in order:
        row = run.rows[key]
        expected = ref.rows.get(key)
        if expected == row:
            continue
        if linked(row, run_user) or linked(expected, ref_user):
            diff.linked += 1
        if expected is None:
            diff.extra += 1
            what = f"extra {key}"
        else:
            diff.changed += 1
            what = f"{key}: {_diff_columns(run.columns, expected, row)}"
        if len(diff.examples) < 5:
            diff.examples.append(what)
        if user_at is not None:
            if row[user_at] in charged_users:
                continue
            charged_users.add(row[user_at])
        charge(run.source.get(key), "state_differences")
    for key in ref.rows.keys() - run.rows.keys():
        diff.lost += 1
        if linked(ref.rows[key], ref_user):
            diff.linked += 1
        if len(diff.examples) < 5:
            diff.examples.append(f"lost {key}")
        charge(ref.source.get(key), "lost")
    for key, n in run.final_copies.items():
        diff.duplicated_final += n - 1
        charge(run.source.get(key), "duplicated", n - 1)
    diff.duplicated_raw = sum(n - 1 for n in run.raw_copies.values())
    return diff


def compare(ref: Snapshot, run: Snapshot, positions: dict[str, int], starts: list[int]) -> Comparison:
    """``positions``: event id -> place in the workload; ``starts``: where each fault began."""
    by_window: dict[int, Counter[str]] = {}

    def charge(event_id: str | None, what: str, n: int = 1) -> None:
        window = _window(positions, starts, event_id)
        by_window.setdefault(-2 if window is None else window, Counter())[what] += n

    linked_ids = frozenset(merged_ids(ref) | merged_ids(run))
    tables = {
        name: compare_table(
            ref.tables[name], run.tables[name], charge, name == "engagement_scores", linked_ids
        )
        for name in ref.tables
    }
    differing: list[str] = []
    users_linked = 0
    for cid in sorted(ref.users.keys() | run.users.keys()):
        a, b = ref.users.get(cid), run.users.get(cid)
        if a != b:
            differing.append(f"{cid}: {a} -> {b}")
            users_linked += cid in linked_ids
    return Comparison(tables, len(differing), differing[:5], by_window, users_linked)
