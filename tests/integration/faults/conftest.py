"""The fault verifier's short version: a few thousand events, one fault of a kind per test.

Each run starts its own broker, warehouse, worker and sink (the faults stop and start
them, so the session's shared broker is not used). The clean reference run is made once
per session; every test compares its own run with it, table by table and user by user.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench.faults import verifier_settings, workload
from bench.verify.compare import Comparison, compare
from bench.verify.plan import FaultKind, FaultRecord, plan_faults
from bench.verify.run import RunOptions, RunResult, run_pipeline
from schemas.models import Event

EVENTS = 2000
SEED = 11
OPTIONS = RunOptions(rate=150.0, outage_s=30.0, drain_timeout_s=240.0)


@dataclass
class FaultedRun:
    run: RunResult
    diff: Comparison
    kind: str = ""  # the fault kind the run was made for (test_fault_kinds.KINDS)

    @property
    def faults(self) -> list[FaultRecord]:
        return self.run.faults

    def explain(self) -> str:
        """What differs, for the assertion message."""
        return json.dumps(
            {
                "faults": [f.to_json() for f in self.run.faults],
                "supervisor": self.run.supervisor,
                "produce_errors": self.run.produce_errors[:5],
                **self.diff.to_json(),
            },
            indent=1,
            default=str,
        )[:6000]


def _log(message: str) -> None:
    print(message)  # shown with -s, and in the captured output of a failing test


@pytest.fixture(scope="session")
def fault_workload() -> list[Event]:
    return workload(EVENTS, SEED)


@pytest.fixture(scope="session")
def clean_reference(
    tmp_path_factory: pytest.TempPathFactory, fault_workload: list[Event]
) -> Iterator[RunResult]:
    root = tmp_path_factory.mktemp("faults") / "clean-reference"
    yield run_pipeline("clean-reference", root, verifier_settings(), fault_workload, [], OPTIONS, _log)


def run_faulted(
    tmp_path_factory: pytest.TempPathFactory,
    events: list[Event],
    reference: RunResult,
    counts: dict[FaultKind, int],
) -> FaultedRun:
    """The workload under ``counts`` faults, compared with the clean reference run."""
    plan = plan_faults(counts, len(events), SEED)
    root = tmp_path_factory.mktemp("faults") / "run"
    result = run_pipeline(root.parent.name, root, verifier_settings(), events, plan, OPTIONS, _log)
    positions = {e.event_id: i for i, e in enumerate(events)}
    diff = compare(reference.snapshot, result.snapshot, positions, [f.at_event for f in result.faults])
    return FaultedRun(result, diff)


# The three checks every fault test makes (one test each, so a report names which failed).
def check_nothing_lost(faulted: FaultedRun) -> None:
    assert faulted.run.drained, faulted.explain()
    assert faulted.run.produce_errors == [], faulted.explain()
    assert {name: t.lost for name, t in faulted.diff.tables.items() if t.lost} == {}, faulted.explain()


def check_nothing_duplicated(faulted: FaultedRun) -> None:
    dups = {name: t.duplicated_final for name, t in faulted.diff.tables.items() if t.duplicated_final}
    assert dups == {}, faulted.explain()


def check_same_state(faulted: FaultedRun) -> None:
    """Same rows with the same content, and every user's final score, level, event count
    and triggers as in the clean run."""
    changed = {n: (t.changed, t.extra) for n, t in faulted.diff.tables.items() if t.changed or t.extra}
    assert (changed, faulted.diff.users_differing) == ({}, 0), faulted.explain()
