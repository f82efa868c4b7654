"""The local broker's pure pieces: properties, cluster ids, jars, JVM command, class archive, CLI state."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from foundation.exceptions import ServiceStartError
from infra.kafka import config
from infra.kafka.config import (
    TEMPLATE,
    formatted_cluster_id,
    new_cluster_id,
    parse_properties,
    render_properties,
    resolve_libs,
)
from infra.kafka.control import running_pid
from infra.kafka.jvm import ClassArchive, classpath, java_command, jvm_options


def rendered(port: int = 19092, controller_port: int = 19093) -> dict[str, str]:
    text = render_properties(
        TEMPLATE.read_text(), port=port, controller_port=controller_port, log_dir=Path("/d/x")
    )
    return parse_properties(text)


def test_template_renders_a_single_node_kraft_broker_on_loopback_ports() -> None:
    props = rendered()
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == "/d/x"


def test_template_sizes_internal_topics_for_one_node_and_fast_group_joins() -> None:
    props = rendered()
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1", key
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "true"
    assert "$" not in "".join(props.values())


def test_broker_and_controller_on_one_port_is_refused() -> None:
    with pytest.raises(ValueError, match="both on port 19092"):
        rendered(port=19092, controller_port=19092)


def test_a_placeholder_without_a_value_is_an_error() -> None:
    with pytest.raises(KeyError, match="unknown"):
        render_properties("a=${port}\nb=${unknown}", port=1, controller_port=2, log_dir=Path("/x"))


def test_parse_properties_skips_comments_and_rejects_lines_without_equals() -> None:
    assert parse_properties("# c\n! c\n\na = 1\nb=x=y\n") == {"a": "1", "b": "x=y"}
    with pytest.raises(ValueError, match="'oops'"):
        parse_properties("a=1\noops\n")


def test_cluster_ids_are_unique_16_byte_urlsafe_base64() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_formatted_cluster_id_reads_meta_properties(tmp_path: Path) -> None:
    assert formatted_cluster_id(tmp_path) is None
    (tmp_path / "meta.properties").write_text("#\nnode.id=1\ncluster.id=abcDEF123\nversion=1\n")
    assert formatted_cluster_id(tmp_path) == "abcDEF123"
    (tmp_path / "meta.properties").write_text("node.id=1\n")
    with pytest.raises(ServiceStartError, match="no cluster.id"):
        formatted_cluster_id(tmp_path)


def test_missing_jars_point_at_make_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "DEFAULT_LIBS", tmp_path / "libs")
    with pytest.raises(ServiceStartError, match="run `make setup`"):
        resolve_libs(None)


def test_a_kafka_home_without_jars_is_named(tmp_path: Path) -> None:
    with pytest.raises(ServiceStartError, match=f"KAFKA_HOME={tmp_path} is not a Kafka install"):
        resolve_libs(tmp_path)
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "kafka_2.13-3.9.1.jar").write_bytes(b"")
    assert resolve_libs(tmp_path) == tmp_path / "libs"


def test_java_command_lists_jars_in_sorted_order_with_heap_and_logs(tmp_path: Path) -> None:
    for name in ("b.jar", "a.jar", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    options = jvm_options("300m", tmp_path / "logs")
    argv = java_command("/usr/bin/java", options, tmp_path, "kafka.Kafka", "server.properties")
    assert argv[0] == "/usr/bin/java"
    assert argv[-4:] == [
        "-cp",
        f"{tmp_path / 'a.jar'}{os.pathsep}{tmp_path / 'b.jar'}",
        "kafka.Kafka",
        "server.properties",
    ]
    assert "-Xmx300m" in argv
    assert f"-Dkafka.logs.dir={tmp_path / 'logs'}" in argv
    assert classpath(tmp_path).count(".jar") == 2


def test_class_archive_is_keyed_by_jars_and_jvm_flags(tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-3.9.1.jar").write_bytes(b"v1")

    def archive(options: list[str]) -> ClassArchive:
        return ClassArchive.for_runtime(tmp_path / "cache", "/usr/bin/java", libs, options)

    first = archive(jvm_options("768m", tmp_path / "logs"))
    assert first.path.parent == tmp_path / "cache"
    # Heap size and log dir don't change which archive a broker can map...
    assert archive(jvm_options("256m", tmp_path / "elsewhere")) == first
    # ...JVM flags and the jars do.
    assert archive([*jvm_options("768m", tmp_path), "-XX:+UseSerialGC"]) != first
    (libs / "kafka_2.13-3.9.1.jar").write_bytes(b"v2 (different size)")
    assert archive(jvm_options("768m", tmp_path / "logs")) != first


def test_class_archive_publishes_only_complete_dumps(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path / "cache" / "kafka-x.jsa")
    assert archive.use_options() == []
    failed = archive.new_dump()
    assert failed is not None and failed.parent == tmp_path / "cache"
    failed.write_bytes(b"partial")
    archive.adopt(failed, complete=False)
    assert not failed.exists() and not archive.path.exists()

    dump = archive.new_dump()
    assert dump is not None and dump != failed
    dump.write_bytes(b"classes")
    archive.adopt(dump, complete=True)
    assert archive.path.read_bytes() == b"classes" and not dump.exists()
    assert archive.use_options() == [f"-XX:SharedArchiveFile={archive.path}"]


def test_cli_pid_file_counts_only_a_live_broker(tmp_path: Path) -> None:
    assert running_pid(tmp_path) is None
    (tmp_path / "broker.pid").write_text("not a pid\n")
    assert running_pid(tmp_path) is None
    # This test process is alive but is no broker: a reused pid must not be signalled.
    (tmp_path / "broker.pid").write_text(f"{os.getpid()}\n")
    assert running_pid(tmp_path) is None


def test_cluster_ids_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid as uuid_module

    from infra.kafka import config

    # 0xf8 0x... encodes to a leading "-" in URL-safe base64; the next draw does not.
    draws = iter([uuid_module.UUID(bytes=b"\xf8" + b"\x00" * 15), uuid_module.UUID(int=1)])
    monkeypatch.setattr(config.uuid, "uuid4", lambda: next(draws))
    cluster_id = config.new_cluster_id()
    assert not cluster_id.startswith("-")
    assert cluster_id == "AAAAAAAAAAAAAAAAAAAAAQ"
