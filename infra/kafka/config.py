"""The pure parts of the local broker: where its jars are, its properties, ports, cluster id."""

from __future__ import annotations

import base64
import socket
import string
import uuid
from dataclasses import dataclass
from pathlib import Path

from foundation.exceptions import ServiceStartError

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


@dataclass(frozen=True)
class BrokerTls:
    """PEM files for a TLS client listener."""

    # The broker's unencrypted PKCS#8 private key, then its certificate, then the CA's.
    keystore: Path
    # The CA the broker checks its own connections against (it talks to itself).
    ca: Path


def listener_protocol(scram: bool, tls: bool) -> str:
    return {(False, False): "PLAINTEXT", (True, False): "SASL_PLAINTEXT", (False, True): "SSL"}.get(
        (scram, tls), "SASL_SSL"
    )


def scram_properties(text: str, users: dict[str, str], tls: BrokerTls | None = None) -> str:
    """Rendered properties turned into a secured client listener: SASL_PLAINTEXT taking
    SCRAM-SHA-256/512 for ``users``, over TLS (SASL_SSL, or SSL without users) with ``tls``.

    The broker talks to itself over the same listener, as the first user; the controller
    listener (loopback, in-process for a single node) stays PLAINTEXT.
    """
    if not users and tls is None:
        raise ValueError("a secured broker needs SCRAM users, TLS files or both")
    for name, password in users.items():
        _checked_credential("user name", name)
        _checked_credential("password", password)
    protocol = listener_protocol(bool(users), tls is not None)
    props = parse_properties(text)
    port = props["advertised.listeners"].rsplit(":", 1)[1]
    host = props["advertised.listeners"].split("//", 1)[1].rsplit(":", 1)[0]
    controller = [item for item in props["listeners"].split(",") if item.startswith("CONTROLLER://")]
    replaced = {
        "listeners": ",".join([f"{protocol}://{host}:{port}", *controller]),
        "advertised.listeners": f"{protocol}://{host}:{port}",
        "listener.security.protocol.map": f"{protocol}:{protocol},CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": protocol,
    }
    lines = [
        f"{key}={replaced[key]}" if (key := line.partition("=")[0].strip()) in replaced else line
        for line in text.splitlines()
    ]
    if users:
        broker_user, broker_password = next(iter(users.items()))
        jaas = f'{_SCRAM_LOGIN} required username="{broker_user}" password="{broker_password}";'
        lines += [
            "",
            "# SCRAM on the client listener (infra/kafka/config.py:scram_properties).",
            f"sasl.enabled.mechanisms={','.join(SCRAM_MECHANISMS)}",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
            *(
                f"listener.name.{protocol.lower()}.{m.lower()}.sasl.jaas.config={jaas}"
                for m in SCRAM_MECHANISMS
            ),
        ]
    if tls is not None:
        lines += [
            "",
            "# TLS on the client listener: PEM key and chain, the CA to trust (KIP-651).",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={tls.keystore}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls.ca}",
        ]
    return "\n".join(lines) + "\n"


def scram_format_arguments(users: dict[str, str]) -> list[str]:
    """``kafka-storage format`` arguments that store each user's SCRAM credentials, both mechanisms."""
    args: list[str] = []
    for name, password in users.items():
        for mechanism in SCRAM_MECHANISMS:
            args += ["--add-scram", f"{mechanism}=[name={name},password={password}]"]
    return args
