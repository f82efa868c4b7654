"""Scale by starting more: two ``orbitstream worker`` processes with the same settings on
one host, as the README says, both become healthy and split the partitions."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from foundation.settings import WorkerSettings, to_environment
from infra.processes import ManagedProcess
from infra.stack import wait_for_group
from streams.activity.agents import USER_EVENT_BATCHES

pytestmark = pytest.mark.integration


def _health_status(port: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    return status


def test_two_workers_with_the_same_settings_on_one_host_are_healthy_and_split_partitions(
    pipeline_factory, tmp_path: Path
) -> None:
    pipeline = pipeline_factory(partitions=4)
    root = tmp_path / "var" / "worker"
    root.mkdir(parents=True)
    # The defaults a user gets (RocksDB tables, no port, no name), one shared data root.
    worker = WorkerSettings(data_dir=root, commit_interval_s=0.5)
    settings = pipeline.settings.model_copy(update={"worker": worker})
    env = to_environment(settings)
    orbitstream = str(Path(sys.executable).parent / "orbitstream")
    procs = [
        ManagedProcess(
            f"w{i}", [orbitstream, "worker", "--loglevel", "info"], tmp_path / f"w{i}.log", env
        ).start()
        for i in range(2)
    ]
    pipeline.workers.extend(procs)  # stopped by the fixture
    wait_for_group(settings, pipeline.group_id, 2, procs)

    claims = [json.loads((root / f"worker-{n}.lock").read_text()) for n in range(2)]
    assert {c["pid"] for c in claims} == {p.pid for p in procs}
    assert [c["data_dir"] for c in claims] == [str(root / "worker-0"), str(root / "worker-1")]
    ports = [c["web_port"] for c in claims]
    assert len(set(ports)) == 2 and all(port > 0 for port in ports)
    for port in ports:
        assert _health_status(port) == 200
    for proc in procs:
        proc.ensure_alive()
    assert all(any((root / f"worker-{n}").iterdir()) for n in range(2))  # each its own RocksDB state

    admin = AdminClient(settings.kafka.confluent_config())
    group = admin.describe_consumer_groups([pipeline.group_id])[pipeline.group_id].result(timeout=10)
    # Faust assigns the join's partitions (user-event-batches, and the users table with
    # them); each worker's resolve stage reads the same partitions of the input topics.
    topic = pipeline.topic(USER_EVENT_BATCHES)
    owned = [
        {tp.partition for tp in member.assignment.topic_partitions if tp.topic == topic}
        for member in group.members
    ]
    assert len(owned) == 2 and all(owned)
    assert owned[0].isdisjoint(owned[1]) and owned[0] | owned[1] == {0, 1, 2, 3}
