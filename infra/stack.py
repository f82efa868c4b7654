"""The whole pipeline on one machine: broker, embedded warehouse, stream workers, sink.

Used by ``orbitstream demo``, the end-to-end tests and the benchmarks, so they all run
the same processes the same way. Everything started here is stopped on exit.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from foundation.exceptions import ServiceStartError
from foundation.settings import KafkaSettings, Settings, to_environment
from foundation.topic_admin import ensure_topics
from foundation.waiting import poll_until
from infra.kafka.broker import KafkaBroker, free_port
from infra.processes import ManagedProcess
from infra.warehouse.process import EmbeddedWarehouse
from streams.topology import worker_topic_names


def with_services(settings: Settings, bootstrap: str, warehouse_port: int) -> Settings:
    """``settings`` pointed at a running broker and warehouse."""
    return settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"bootstrap_servers": bootstrap}),
            "warehouse": settings.warehouse.model_copy(update={"host": "127.0.0.1", "port": warehouse_port}),
        }
    )


def start_worker(
    settings: Settings, workdir: Path, name: str = "worker-1", web_port: int | None = None
) -> ManagedProcess:
    """A stream worker process (``orbitstream worker``) with its own state dir.

    Each worker gets its own web port (``/health/``): Faust binds one even with the UI off.
    """
    port = web_port or free_port()
    worker = settings.worker.model_copy(update={"data_dir": workdir, "name": name, "web_port": port})
    env = to_environment(settings.model_copy(update={"worker": worker}))
    return ManagedProcess.orbitstream(
        name, ["worker", "--loglevel", "info"], workdir / f"{name}.log", env
    ).start()


def start_sink(settings: Settings, workdir: Path, name: str = "sink") -> ManagedProcess:
    """A sink process (``orbitstream sink run``), started the same way as the workers."""
    return ManagedProcess.orbitstream(
        name, ["sink", "run"], workdir / f"{name}.log", to_environment(settings)
    ).start()


def wait_for_group(
    settings: Settings, group_id: str, members: int, procs: list[ManagedProcess], timeout: float = 90
) -> None:
    """Block until the consumer group is stable with ``members`` members (workers are consuming)."""
    admin = AdminClient(settings.kafka.confluent_config())
    last = "unknown"

    def ready() -> bool:
        nonlocal last
        for proc in procs:
            proc.ensure_alive()
        try:
            described = admin.describe_consumer_groups([group_id])[group_id].result(timeout=5)
        except Exception as exc:  # the group may not exist yet
            last = str(exc)
            return False
        last = f"{described.state} with {len(described.members)} members"
        assigned = [m for m in described.members if m.assignment.topic_partitions]
        return str(described.state).endswith("STABLE") and len(assigned) >= members

    if not poll_until(ready, timeout, interval=0.5):
        raise ServiceStartError(f"consumer group {group_id} not ready after {timeout}s ({last})")


def wait_for_producer_ids(kafka: KafkaSettings, timeout: float = 60) -> None:
    """Block until the broker hands out idempotent producer ids.

    A fresh broker answers the first InitProducerId with "coordinator load in progress"
    while it fetches a block of ids from the controller (about a second); a producer
    that meets it logs a warning and retries. This probe takes that first answer, quietly.
    """
    state: dict[str, str] = {}

    def on_stats(stats: str) -> None:
        state["idempotence"] = json.loads(stats).get("eos", {}).get("idemp_state", "")

    probe = Producer(
        {
            **kafka.confluent_config(),
            "client.id": "producer-id-probe",
            "enable.idempotence": True,
            "statistics.interval.ms": 100,
            "stats_cb": on_stats,
            "log_level": 3,  # its expected retry warnings are the point of the probe
        }
    )
    try:
        deadline = time.monotonic() + timeout
        while state.get("idempotence") != "Assigned":
            if time.monotonic() > deadline:
                raise ServiceStartError(
                    f"broker {kafka.bootstrap_servers} gave no producer id in {timeout}s "
                    f"(idempotence state {state.get('idempotence', 'unknown')})"
                )
            probe.poll(0.1)
    finally:
        probe.close()


class LocalStack:
    """Broker + embedded warehouse (+ workers and sink on request), all under ``root``."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.base = settings
        self._exit = ExitStack()
        self.settings = settings
        self.processes: list[ManagedProcess] = []

    def start(self) -> LocalStack:
        self.root.mkdir(parents=True, exist_ok=True)
        broker = self._exit.enter_context(KafkaBroker(self.root / "kafka"))
        wh = self.base.warehouse
        warehouse = self._exit.enter_context(
            EmbeddedWarehouse(
                self.root / "warehouse", user=wh.username, password=wh.password.get_secret_value()
            )
        )
        self.settings = with_services(self.base, broker.bootstrap_servers, warehouse.port)
        self.warehouse = warehouse
        ensure_topics(
            self.settings.kafka,
            worker_topic_names(self.settings),
            self.settings.topics.partitions,
            self.settings.topics.replication_factor,
        )
        wait_for_producer_ids(self.settings.kafka)
        return self

    def worker(self, name: str = "worker-1") -> ManagedProcess:
        proc = start_worker(self.settings, self.root, name)
        self._track(proc)
        return proc

    def sink(self, name: str = "sink") -> ManagedProcess:
        proc = start_sink(self.settings, self.root, name)
        self._track(proc)
        return proc

    def _track(self, proc: ManagedProcess) -> None:
        self.processes.append(proc)
        self._exit.callback(proc.stop)

    def stop(self) -> None:
        self._exit.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
