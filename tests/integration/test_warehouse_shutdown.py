"""SIGTERM while clients insert: the embedded warehouse exits by itself within its stop
timeout, every acknowledged insert is there after a restart, and no insert is half there."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from infra.warehouse.process import EmbeddedWarehouse

pytestmark = pytest.mark.integration

BATCH = 500
CLIENTS = 4


def test_sigterm_while_clients_insert_exits_cleanly_and_keeps_every_acknowledged_insert(
    tmp_path: Path,
) -> None:
    warehouse = EmbeddedWarehouse(tmp_path / "wh").start()
    port = warehouse.port
    warehouse.client().command("CREATE TABLE t (id UInt64, body String) ENGINE = MergeTree ORDER BY id")
    acknowledged: list[int] = []
    refused: list[str] = []
    started = threading.Barrier(CLIENTS + 1)
    enough = threading.Event()

    def insert(client_no: int) -> None:
        client = warehouse.client()
        started.wait()
        for n in range(10_000):
            batch = client_no * 10_000 + n
            rows = [[batch * BATCH + i, "x" * 40] for i in range(BATCH)]
            try:
                client.insert("t", rows, column_names=["id", "body"])
            except Exception as exc:  # refused or cut off by the stop: not acknowledged
                refused.append(type(exc).__name__)
                return
            acknowledged.append(batch)
            if len(acknowledged) >= 4 * CLIENTS:
                enough.set()

    threads = [threading.Thread(target=insert, args=(c,), daemon=True) for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started.wait()
    assert enough.wait(120), "the inserts did not get going"
    warehouse.stop(timeout=20)  # SIGTERM, then SIGKILL after 20 s
    for thread in threads:
        thread.join(30)
    # Exited by itself (a SIGKILL or a crash would show as a negative return code).
    assert warehouse._proc is not None and warehouse._proc.returncode == 0, warehouse._proc.log_tail()
    assert len(refused) == CLIENTS  # every client saw the server go away

    with EmbeddedWarehouse(tmp_path / "wh", port=port) as again:
        stored = dict(
            again.client()
            .query(f"SELECT intDiv(id, {BATCH}) AS batch, count() FROM t GROUP BY batch")
            .result_rows
        )
    assert set(acknowledged) <= set(stored)  # nothing acknowledged is lost
    assert set(stored.values()) == {BATCH}  # an insert is all there or not at all
