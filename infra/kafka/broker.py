"""A real single-node Apache Kafka broker (KRaft) started from the Maven-fetched jars.

No Docker here, so the project starts the official broker itself: render
server.properties on free loopback ports, format the storage, run ``kafka.Kafka``, wait
until it answers metadata requests, and stop it cleanly (process group, SIGTERM, then
SIGKILL). ``kafka_home`` (an existing Kafka install) is used instead of the jars when given.
"""

from __future__ import annotations

import base64
import socket
import string
import time
import uuid
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from infra.exceptions import ServiceStartError
from infra.processes import ManagedProcess

HERE = Path(__file__).parent
DEFAULT_LIBS = HERE / "libs"
TEMPLATE = HERE / "server.properties"
LOG4J = HERE / "log4j.properties"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def render_properties(template: str, *, port: int, controller_port: int, log_dir: Path) -> str:
    """Fill the template's ${...} placeholders; an unfilled one is an error, not a silent blank."""
    return string.Template(template).substitute(port=port, controller_port=controller_port, log_dir=log_dir)


def new_cluster_id() -> str:
    """What ``kafka-storage.sh random-uuid`` prints: 16 random bytes, URL-safe base64, unpadded."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def classpath(kafka_home: Path | None) -> str:
    libs = (kafka_home / "libs") if kafka_home is not None else DEFAULT_LIBS
    if not any(libs.glob("kafka_2.13-*.jar")):
        hint = "check KAFKA_HOME" if kafka_home is not None else "run `make setup` to fetch them from Maven Central"
        raise ServiceStartError(f"no Kafka broker jars in {libs}: {hint}")
    return f"{libs}/*"


class KafkaBroker:
    """Context manager: ``with KafkaBroker(workdir) as broker: broker.bootstrap_servers``."""

    def __init__(
        self, workdir: Path, port: int | None = None, kafka_home: Path | None = None, heap: str = "768m"
    ) -> None:
        self.workdir = workdir
        self.port = port
        self.kafka_home = kafka_home
        self.heap = heap
        self._proc: ManagedProcess | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self.port is None:
            raise ServiceStartError("broker not started")
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _java(self, cp: str, *args: str) -> list[str]:
        return [
            "java",
            "-Xms128m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{LOG4J}",
            f"-Dkafka.logs.dir={self.workdir / 'logs'}",
            "-cp",
            cp,
            *args,
        ]

    def start(self, timeout: float = 90) -> str:
        cp = classpath(self.kafka_home)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.port = self.port or free_port()
        props = self.workdir / "server.properties"
        props.write_text(
            render_properties(
                TEMPLATE.read_text(), port=self.port, controller_port=free_port(), log_dir=self.workdir / "data"
            )
        )
        fmt = ManagedProcess(
            "kafka-storage-format",
            self._java(cp, "kafka.tools.StorageTool", "format", "-t", new_cluster_id(), "-c", str(props),
                       "--ignore-formatted"),
            self.workdir / "format.log",
        ).start()
        deadline = time.monotonic() + timeout
        while fmt.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if fmt.returncode != 0:
            raise ServiceStartError(f"formatting Kafka storage failed:\n{fmt.log_tail()}")
        self._proc = ManagedProcess("kafka", self._java(cp, "kafka.Kafka", str(props)), self.workdir / "kafka.out")
        self._proc.start()
        self._wait_ready(deadline)
        return self.bootstrap_servers

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None  # noqa: S101 - start() sets it
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        last_error = "no answer"
        while time.monotonic() < deadline:
            if not self._proc.alive():
                log = self.workdir / "logs" / "server.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else self._proc.log_tail()
                raise ServiceStartError(f"Kafka broker exited during start (code {self._proc.returncode}):\n{tail}")
            try:
                metadata = admin.list_topics(timeout=1)
                if metadata.brokers:
                    return
            except Exception as exc:  # not listening yet
                last_error = str(exc)
            time.sleep(0.2)
        self.stop()
        raise ServiceStartError(f"Kafka broker on port {self.port} not ready in time ({last_error})")

    def stop(self, timeout: float = 30) -> None:
        if self._proc is not None:
            self._proc.stop(timeout)

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
