"""The pure parts of the local broker: where its jars are, its properties, ports, cluster id."""

from __future__ import annotations

import base64
import socket
import string
import uuid
from pathlib import Path

from infra.exceptions import ServiceStartError

HERE = Path(__file__).parent
DEFAULT_LIBS = HERE / "libs"
TEMPLATE = HERE / "server.properties"
LOG4J = HERE / "log4j.properties"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it, so runs don't collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def render_properties(template: str, *, port: int, controller_port: int, log_dir: Path) -> str:
    """Fill the template's ``${...}`` placeholders; an unfilled one is an error, not a silent blank."""
    if port == controller_port:
        raise ValueError(f"broker and controller listeners both on port {port}")
    return string.Template(template).substitute(
        host=LOOPBACK, port=port, controller_port=controller_port, log_dir=log_dir
    )


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines of a Java properties file (no continuations: ours has none)."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"not a key=value line: {line!r}")
            props[key.strip()] = value.strip()
    return props


def new_cluster_id() -> str:
    """What ``kafka-storage.sh random-uuid`` prints: 16 random bytes, URL-safe base64, unpadded.

    Like Kafka's ``Uuid.randomUuid``, never one starting with "-": the storage tool's argument
    parser would take it for an option (one start in 64 failed that way).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def formatted_cluster_id(data_dir: Path) -> str | None:
    """The cluster id a formatted log dir belongs to (its ``meta.properties``), or None."""
    meta = data_dir / "meta.properties"
    if not meta.exists():
        return None
    cluster_id = parse_properties(meta.read_text()).get("cluster.id")
    if not cluster_id:
        raise ServiceStartError(f"{meta} has no cluster.id: remove {data_dir} to start afresh")
    return cluster_id


def resolve_libs(kafka_home: Path | None) -> Path:
    """The directory holding the broker jars: ``$KAFKA_HOME/libs`` or the Maven-fetched ``libs``."""
    libs = (kafka_home / "libs") if kafka_home is not None else DEFAULT_LIBS
    if not any(libs.glob("kafka_2.13-*.jar")):
        if kafka_home is not None:
            hint = f"KAFKA_HOME={kafka_home} is not a Kafka install (expected libs/kafka_2.13-*.jar)"
        else:
            hint = "run `make setup` to fetch them from Maven Central (or set KAFKA_HOME)"
        raise ServiceStartError(f"no Kafka broker jars in {libs}: {hint}")
    return libs
