"""The stream worker SIGKILLed mid-stream and restarted on its state dir."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def faulted(
    tmp_path_factory: pytest.TempPathFactory, fault_workload: list[Event], clean_reference: RunResult
) -> FaultedRun:
    return run_faulted(tmp_path_factory, fault_workload, clean_reference, {FaultKind.WORKER_KILL: 1})


def test_the_restarted_worker_gets_the_partitions_back(faulted: FaultedRun) -> None:
    [kill] = faulted.faults
    assert kill.resume_s is not None, faulted.explain()  # the group gave its partitions to a live member
    assert faulted.run.supervisor == [], faulted.explain()


def test_nothing_lost(faulted: FaultedRun) -> None:
    check_nothing_lost(faulted)


def test_nothing_duplicated(faulted: FaultedRun) -> None:
    check_nothing_duplicated(faulted)


def test_outputs_and_user_state_equal_the_clean_run(faulted: FaultedRun) -> None:
    check_same_state(faulted)
