"""The broker stopped and started once; the producer is started while it is down."""

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
    return run_faulted(tmp_path_factory, fault_workload, clean_reference, {FaultKind.BROKER_RESTART: 1})


def test_both_groups_came_back_after_the_restart(faulted: FaultedRun) -> None:
    [restart] = faulted.faults
    assert "producer started while it was down" in "; ".join(restart.notes), faulted.explain()
    assert restart.resume_s is not None, faulted.explain()


def test_nothing_lost(faulted: FaultedRun) -> None:
    check_nothing_lost(faulted)


def test_nothing_duplicated(faulted: FaultedRun) -> None:
    check_nothing_duplicated(faulted)


def test_outputs_and_user_state_equal_the_clean_run(faulted: FaultedRun) -> None:
    check_same_state(faulted)
