"""SIGTERM: the sink flushes what it holds, commits it and leaves; a restart reads nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from foundation.settings import Settings, to_environment
from foundation.waiting import poll_until
from infra.processes import ManagedProcess
from tests.integration.sinks.conftest import PARTITIONS, counts, produce_records
from tests.integration.sinks.helpers import committed_and_end
from tests.unit.sinks import samples

pytestmark = pytest.mark.integration

N = 30


def test_sigterm_flushes_and_commits_the_open_batches(
    sink_settings: Settings, sink_client: Any, tmp_path: Path
) -> None:
    # Batches far larger and older than the test: only the shutdown flush can load them.
    holding = sink_settings.model_copy(
        update={
            "sink": sink_settings.sink.model_copy(update={"batch_max_rows": 1000, "batch_max_seconds": 3600})
        }
    )
    base = samples.product_events()[0]
    produce_records(
        holding, "product-by-user", [base.model_copy(update={"event_id": f"t-{i}"}) for i in range(N)]
    )
    proc = ManagedProcess.orbitstream(
        "sink", ["sink", "run", "--no-migrate"], tmp_path / "sink.log", to_environment(holding)
    ).start()
    try:
        # The progress line (every 10 s) shows the messages consumed and held.

        def held() -> bool:
            proc.ensure_alive()
            return f"consumed {N}, rows {{}}" in proc.log_tail()

        poll_until(held, 60, 0.2)
        progress = next(line for line in proc.log_tail().splitlines() if f"consumed {N}, rows {{}}" in line)
        assert progress.endswith(f"buffered {N}, insert failures 0, lag {N}")  # held, none committed
        assert counts(sink_client, "events") == (0, 0)
        proc.stop(timeout=30)
    finally:
        proc.stop()
    assert proc.returncode == 0, proc.log_tail()
    assert counts(sink_client, "events") == (N, N)
    committed, end = committed_and_end(holding, ["product-by-user"], PARTITIONS)
    assert committed == end == N
