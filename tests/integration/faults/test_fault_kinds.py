"""One run per fault kind (and a second clean run), each compared with the clean reference:
nothing lost, nothing duplicated, the same outputs and user state, and the fault happened
as planned. Two clean runs leave the same warehouse only if outputs depend on the events
alone, not on timing: every fault kind relies on that."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.verify.plan import FaultKind
from bench.verify.run import RunResult
from schemas.models import Event
from tests.integration.faults.conftest import (
    FaultedRun,
    check_nothing_duplicated,
    check_nothing_lost,
    check_same_state,
    run_faulted,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(900)]


def _no_fault(run: FaultedRun) -> None:
    assert run.faults == [] and run.run.supervisor == [], run.explain()


def _broker_came_back(run: FaultedRun) -> None:
    [restart] = run.faults
    assert "producer started while it was down" in "; ".join(restart.notes), run.explain()
    assert restart.resume_s is not None, run.explain()  # both groups were stable again


def _partitions_came_back(run: FaultedRun) -> None:
    [kill] = run.faults
    assert kill.resume_s is not None, run.explain()  # the group gave its partitions to a live member
    assert run.run.supervisor == [], run.explain()


def _warehouse_was_down(run: FaultedRun) -> None:
    [outage] = run.faults
    assert outage.duration_s >= 30, run.explain()  # the fault happened as planned, not a timing bound
    assert run.run.supervisor == [], run.explain()  # the sink rode it out without a restart


def _joined_and_left(run: FaultedRun) -> None:
    [rebalance] = run.faults
    notes = "; ".join(rebalance.notes)
    assert "joined in" in notes and "left in" in notes, run.explain()


# kind -> (faults injected, what shows the fault happened as planned)
KINDS: dict[str, tuple[dict[FaultKind, int], Callable[[FaultedRun], None]]] = {
    "second-clean-run": ({}, _no_fault),
    "broker-restart": ({FaultKind.BROKER_RESTART: 1}, _broker_came_back),
    "sink-kill": ({FaultKind.SINK_KILL: 1}, _partitions_came_back),
    "worker-kill": ({FaultKind.WORKER_KILL: 1}, _partitions_came_back),
    "warehouse-down": ({FaultKind.WAREHOUSE_DOWN: 1}, _warehouse_was_down),
    "worker-join-leave": ({FaultKind.WORKER_JOIN_LEAVE: 1}, _joined_and_left),
}


@pytest.fixture(scope="module", params=list(KINDS))
def faulted(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fault_workload: list[Event],
    clean_reference: RunResult,
) -> FaultedRun:
    run = run_faulted(tmp_path_factory, fault_workload, clean_reference, KINDS[request.param][0])
    run.kind = request.param
    return run


def test_the_fault_happened_as_planned(faulted: FaultedRun) -> None:
    KINDS[faulted.kind][1](faulted)


def test_nothing_lost(faulted: FaultedRun) -> None:
    check_nothing_lost(faulted)


def test_nothing_duplicated(faulted: FaultedRun) -> None:
    check_nothing_duplicated(faulted)


def test_outputs_and_user_state_equal_the_clean_run(faulted: FaultedRun) -> None:
    check_same_state(faulted)
