"""Two clean runs of the same workload leave the same warehouse: outputs depend on the
events only, not on timing. Every fault test relies on this."""

from __future__ import annotations

import pytest

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
def second(
    tmp_path_factory: pytest.TempPathFactory, fault_workload: list[Event], clean_reference: RunResult
) -> FaultedRun:
    return run_faulted(tmp_path_factory, fault_workload, clean_reference, {})


def test_no_fault_was_injected(second: FaultedRun) -> None:
    assert second.faults == [] and second.run.supervisor == [], second.explain()


def test_nothing_lost(second: FaultedRun) -> None:
    check_nothing_lost(second)


def test_nothing_duplicated(second: FaultedRun) -> None:
    check_nothing_duplicated(second)


def test_outputs_and_user_state_equal_the_first_run(second: FaultedRun) -> None:
    check_same_state(second)
