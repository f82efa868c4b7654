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


SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"


def _checked_credential(kind: str, value: str) -> str:
    # Both end up inside a JAAS string and a storage-tool argument, unquoted by either.
    if not value or any(c in value for c in '"\\,=[] \t\n'):
        raise ValueError(f"SCRAM {kind} {value!r} is empty or has a character the broker config cannot hold")
    return value


def scram_properties(text: str, users: dict[str, str]) -> str:
    """Rendered properties turned into a SASL_PLAINTEXT client listener taking SCRAM-SHA-256/512.

    The broker talks to itself over the same listener, as the first user; the controller
    listener (loopback, in-process for a single node) stays PLAINTEXT.
    """
    if not users:
        raise ValueError("a SCRAM broker needs at least one user")
    for name, password in users.items():
        _checked_credential("user name", name)
        _checked_credential("password", password)
    broker_user, broker_password = next(iter(users.items()))
    props = parse_properties(text)
    port = props["advertised.listeners"].rsplit(":", 1)[1]
    host = props["advertised.listeners"].split("//", 1)[1].rsplit(":", 1)[0]
    controller = [item for item in props["listeners"].split(",") if item.startswith("CONTROLLER://")]
    replaced = {
        "listeners": ",".join([f"SASL_PLAINTEXT://{host}:{port}", *controller]),
        "advertised.listeners": f"SASL_PLAINTEXT://{host}:{port}",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
    }
    lines = [
        f"{key}={replaced[key]}" if (key := line.partition("=")[0].strip()) in replaced else line
        for line in text.splitlines()
    ]
    jaas = f'{_SCRAM_LOGIN} required username="{broker_user}" password="{broker_password}";'
    lines += [
        "",
        "# SCRAM on the client listener (infra/kafka/config.py:scram_properties).",
        f"sasl.enabled.mechanisms={','.join(SCRAM_MECHANISMS)}",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
        *(f"listener.name.sasl_plaintext.{m.lower()}.sasl.jaas.config={jaas}" for m in SCRAM_MECHANISMS),
    ]
    return "\n".join(lines) + "\n"


def scram_format_arguments(users: dict[str, str]) -> list[str]:
    """``kafka-storage format`` arguments that store each user's SCRAM credentials, both mechanisms."""
    args: list[str] = []
    for name, password in users.items():
        for mechanism in SCRAM_MECHANISMS:
            args += ["--add-scram", f"{mechanism}=[name={name},password={password}]"]
    return args
