"""The embedded warehouse stopped for 30 s mid-stream, then started on its data."""

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
    return run_faulted(tmp_path_factory, fault_workload, clean_reference, {FaultKind.WAREHOUSE_DOWN: 1})


def test_the_warehouse_was_down_for_the_outage(faulted: FaultedRun) -> None:
    [outage] = faulted.faults
    assert outage.duration_s >= 30, faulted.explain()  # the fault happened as planned, not a timing bound
    assert faulted.run.supervisor == [], faulted.explain()  # the sink rode it out without a restart


def test_nothing_lost(faulted: FaultedRun) -> None:
    check_nothing_lost(faulted)


def test_nothing_duplicated(faulted: FaultedRun) -> None:
    check_nothing_duplicated(faulted)


def test_outputs_and_user_state_equal_the_clean_run(faulted: FaultedRun) -> None:
    check_same_state(faulted)
