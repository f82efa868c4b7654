"""A real single-node Apache Kafka broker (KRaft) started from the Maven-fetched jars.

No Docker here, so the project starts the official broker itself: render
server.properties on free loopback ports, format the storage, run ``kafka.Kafka``, wait
until it answers metadata requests, and stop it cleanly (process group, SIGTERM, then
SIGKILL). ``kafka_home`` (an existing Kafka install) is used instead of the jars when given.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from foundation.exceptions import ServiceStartError
from foundation.waiting import poll_until
from infra.kafka.config import (
    HERE,
    LOOPBACK,
    TEMPLATE,
    BrokerTls,
    formatted_cluster_id,
    free_port,
    listener_protocol,
    new_cluster_id,
    render_properties,
    resolve_libs,
    scram_format_arguments,
    scram_properties,
)
from infra.kafka.jvm import DEFAULT_HEAP_MAX, ClassArchive, java_command, java_executable, jvm_options
from infra.processes import ManagedProcess

__all__ = ["DEFAULT_CLASS_CACHE", "KafkaBroker", "free_port"]

DEFAULT_CLASS_CACHE = HERE / "target"
# Auto-picked ports can be taken by someone else between picking and binding.
_PORT_ATTEMPTS = 3
WARM_UP_GROUP = "orbitstream-broker-warm-up"


class _PortTaken(ServiceStartError):
    """The broker could not bind one of its listeners."""


class KafkaBroker:
    """One KRaft broker+controller process: ``with KafkaBroker(workdir) as broker: ...``.

    ``port`` fixes the client listener (default: a free loopback port). The work dir keeps
    the properties, the data (``data/``), the broker log (``logs/server.log``) and its stdout
    (``kafka.out``). ``class_cache`` holds the class archive that speeds up later starts
    (None disables it).

    By default the broker belongs to the thread that starts it: if that process dies, even
    by SIGKILL, the kernel sends the broker SIGTERM (Linux, via ``setpriv --pdeathsig``).
    ``detached=True`` is for a broker that outlives its starter and is stopped by another
    process (the CLI); it then only uses an existing class archive and never records one.

    ``scram_users`` (name -> password) makes the client listener SASL_PLAINTEXT taking
    SCRAM-SHA-256 and SCRAM-SHA-512 for those users (stored when the storage is formatted;
    the broker itself logs in as the first one). ``tls`` puts that listener behind TLS
    (SASL_SSL, or SSL without users).
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        kafka_home: Path | None = None,
        *,
        heap_max: str = DEFAULT_HEAP_MAX,
        class_cache: Path | None = DEFAULT_CLASS_CACHE,
        detached: bool = False,
        scram_users: dict[str, str] | None = None,
        tls: BrokerTls | None = None,
    ) -> None:
        self.workdir = workdir
        self.scram_users = dict(scram_users or {})
        self.tls = tls
        self.kafka_home = kafka_home
        self.heap_max = heap_max
        self.class_cache = class_cache
        self.detached = detached
        self._requested_port = port
        self._port: int | None = None
        self._proc: ManagedProcess | None = None
        self._archive: ClassArchive | None = None
        self._dump: Path | None = None
        self._log_offsets = (0, 0)
        self._ready = False
        self._warm_up_admin: AdminClient | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise ServiceStartError(f"Kafka broker in {self.workdir} not started")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def client_config(self) -> dict[str, str]:
        """librdkafka properties that reach this broker (as the first SCRAM user if any)."""
        conf = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": listener_protocol(bool(self.scram_users), self.tls is not None),
        }
        if self.scram_users:
            user, password = next(iter(self.scram_users.items()))
            conf.update({"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": user, "sasl.password": password})
        if self.tls is not None:
            conf["ssl.ca.location"] = str(self.tls.ca)
        return conf

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    @property
    def log_path(self) -> Path:
        return self.workdir / "logs" / "server.log"

    def start(self, timeout: float = 90) -> str:
        """Format the storage, start the broker and return its bootstrap address once it answers."""
        if self.running:
            return self.bootstrap_servers
        self._ready = False
        libs = resolve_libs(self.kafka_home)
        java = java_executable()
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        options = jvm_options(self.heap_max, self.workdir / "logs")
        if self.class_cache is not None:
            self._archive = ClassArchive.for_runtime(self.class_cache, java, libs, options)
        deadline = time.monotonic() + timeout
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        taken = ""
        for _ in range(attempts):
            props = self._write_properties()
            self._format(java, options, libs, props, deadline)
            proc = self._launch(java, options, libs, props)
            try:
                self._wait_ready(proc, deadline)
            except _PortTaken as exc:
                taken = str(exc)
                continue
            self._ready = True
            return self.bootstrap_servers
        raise ServiceStartError(
            f"Kafka broker in {self.workdir} could not bind its listeners ({taken}); see {self.log_path}"
        )

    def _write_properties(self) -> Path:
        self._port = self._requested_port or free_port()
        controller_port = free_port()
        while controller_port == self._port:
            controller_port = free_port()
        props = self.workdir / "server.properties"
        text = render_properties(
            TEMPLATE.read_text(),
            port=self._port,
            controller_port=controller_port,
            log_dir=self.workdir / "data",
        )
        if self.scram_users or self.tls is not None:
            text = scram_properties(text, self.scram_users, self.tls)
        props.write_text(text)
        return props

    def _format(self, java: str, options: list[str], libs: Path, props: Path, deadline: float) -> None:
        """``kafka-storage format`` a new work dir; one formatted before keeps its data and cluster id."""
        if formatted_cluster_id(self.workdir / "data") is not None:
            return
        archive = self._archive.use_options() if self._archive else []
        argv = java_command(
            java,
            [*options, *archive],
            libs,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            new_cluster_id(),
            "--config",
            str(props),
            *scram_format_arguments(self.scram_users),
        )
        log = self.workdir / "format.log"
        try:
            with log.open("wb") as out:
                done = subprocess.run(
                    argv, stdout=out, stderr=subprocess.STDOUT, timeout=max(deadline - time.monotonic(), 1)
                )
        except subprocess.TimeoutExpired:
            raise ServiceStartError(f"formatting Kafka storage in {self.workdir} timed out") from None
        if done.returncode != 0:
            raise ServiceStartError(
                f"formatting Kafka storage in {self.workdir} failed (code {done.returncode}):\n"
                + _tail(log, 30)
            )

    def _launch(self, java: str, options: list[str], libs: Path, props: Path) -> ManagedProcess:
        extra: list[str] = []
        self._dump = None
        if self._archive is not None:
            extra = self._archive.use_options()
            if not extra and not self.detached:
                self._dump = self._archive.new_dump()
                if self._dump is not None:
                    extra = [f"-XX:ArchiveClassesAtExit={self._dump}"]
        argv = java_command(java, [*options, *extra], libs, "kafka.Kafka", str(props))
        setpriv = shutil.which("setpriv")
        if not self.detached and setpriv is not None:
            # A test run killed outright must not leave a 768 MB JVM behind on a shared box.
            argv = [setpriv, "--pdeathsig", "TERM", "--", *argv]
        proc = ManagedProcess("kafka", argv, self.workdir / "kafka.out")
        # Both files are appended to: a failed start is judged by this run's lines only.
        self._log_offsets = (_size(self.log_path), _size(proc.log_path))
        self._proc = proc.start()
        return proc

    def _wait_ready(self, proc: ManagedProcess, deadline: float) -> None:
        """Until the broker answers a metadata request listing itself."""
        # log_level 0: connection-refused noise while the JVM starts is expected.
        admin = AdminClient({**self.client_config(), "log_level": 0})
        last_error = "no answer"

        def ready() -> bool:
            nonlocal last_error
            if not proc.alive():
                self._reap()
                server_log = _since(self.log_path, self._log_offsets[0])
                stdout = _since(proc.log_path, self._log_offsets[1])
                bind_errors = [line for line in server_log.splitlines() if "failed to bind to" in line]
                if bind_errors:
                    raise _PortTaken(bind_errors[0].split(": ", 1)[-1])
                raise ServiceStartError(
                    f"Kafka broker in {self.workdir} exited during start (code {proc.returncode}); "
                    f"last lines of {self.log_path}:\n{_last(server_log, 40)}\n"
                    f"--- {proc.log_path}:\n{_last(stdout, 15)}"
                )
            try:
                return bool(admin.list_topics(timeout=1).brokers)
            except Exception as exc:  # not listening yet: keep asking
                last_error = str(exc)
                return False

        if poll_until(ready, deadline - time.monotonic()):
            self._warm_up(admin)
            return
        self.stop()
        raise ServiceStartError(
            f"Kafka broker on port {self._port} not ready in time ({last_error}); "
            f"last lines of {self.log_path}:\n{_tail(self.log_path, 40)}"
        )

    def _warm_up(self, admin: AdminClient) -> None:
        """Have the broker create its consumer-offsets topic now, in the background.

        The first consumer group on a fresh broker otherwise waits ~3 s for it. Looking up
        a group's coordinator creates the topic; nobody waits for the answer.
        """
        self._warm_up_admin = admin  # keeps the request alive until stop()
        admin.describe_consumer_groups([WARM_UP_GROUP], request_timeout=30)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the broker's process group, wait up to ``timeout``, then SIGKILL it."""
        self._warm_up_admin = None
        if self._proc is not None:
            self._proc.stop(timeout)
            self._reap()

    def _reap(self) -> None:
        """After the process ended: publish the classes it recorded, unless its start failed."""
        if self._dump is not None and self._archive is not None and self._proc is not None:
            # A broker that never got ready loaded only part of its classes; a SIGKILLed
            # one may have been killed mid-dump.
            code = self._proc.returncode
            complete = self._ready and code is not None and code != -signal.SIGKILL
            self._archive.adopt(self._dump, complete)
        self._dump = None

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _since(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def _last(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _tail(path: Path, lines: int) -> str:
    return _last(_since(path, max(_size(path) - 16_384, 0)), lines)
