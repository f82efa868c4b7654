"""``orbitstream broker start|stop|status [--workdir var/kafka]``: a broker that outlives the command.

``start`` formats the storage (first time only), starts the broker on a free loopback port
(or ``--port``), waits until it answers and prints its bootstrap address; the pid and the
address are kept in the work dir for ``stop`` and ``status``. ``KAFKA_HOME`` selects an
existing Kafka install instead of the Maven-fetched jars.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from confluent_kafka.admin import AdminClient

from foundation.exceptions import ServiceStartError
from infra.kafka.broker import KafkaBroker
from infra.processes import stop_group

PID_FILE = "broker.pid"
BOOTSTRAP_FILE = "bootstrap"
# LSB init-script convention for "status" of a stopped service.
NOT_RUNNING = 3


def running_pid(workdir: Path) -> int | None:
    """The pid of the broker started in ``workdir``, if that process still runs and is a broker."""
    try:
        pid = int((workdir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.parent.exists():  # Linux: make sure the pid was not reused by another program
        try:
            return pid if b"kafka.Kafka" in cmdline.read_bytes() else None
        except OSError:
            return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def start(workdir: Path, port: int | None, kafka_home: Path | None, timeout: float) -> int:
    if (pid := running_pid(workdir)) is not None:
        print(f"already running (pid {pid})", file=sys.stderr)
        print((workdir / BOOTSTRAP_FILE).read_text().strip())
        return 0
    broker = KafkaBroker(workdir, port=port, kafka_home=kafka_home, detached=True)
    try:
        bootstrap = broker.start(timeout)
    except ServiceStartError as exc:
        print(exc, file=sys.stderr)
        return 1
    (workdir / PID_FILE).write_text(f"{broker.pid}\n")
    (workdir / BOOTSTRAP_FILE).write_text(f"{bootstrap}\n")
    print(bootstrap)
    return 0


def stop(workdir: Path, timeout: float) -> int:
    """SIGTERM the broker's process group, wait, SIGKILL what is left."""
    pid = running_pid(workdir)
    if pid is not None:
        # The broker leads its own process group (KafkaBroker starts it detached).
        stop_group(pid, lambda: running_pid(workdir) is None, timeout)
    for name in (PID_FILE, BOOTSTRAP_FILE):
        (workdir / name).unlink(missing_ok=True)
    print("stopped" if pid is not None else "not running")
    return 0


def status(workdir: Path) -> int:
    pid = running_pid(workdir)
    if pid is None:
        print("not running")
        return NOT_RUNNING
    bootstrap = (workdir / BOOTSTRAP_FILE).read_text().strip()
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        brokers = admin.list_topics(timeout=5).brokers
    except Exception as exc:  # the process is there but does not answer
        print(f"pid {pid} not answering on {bootstrap}: {exc}")
        return 1
    print(f"running: pid {pid}, bootstrap {bootstrap}, {len(brokers)} broker(s)")
    return 0
