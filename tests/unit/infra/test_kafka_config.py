"""Broker configuration rendering."""

from pathlib import Path

import pytest

from infra.exceptions import ServiceStartError
from infra.kafka.broker import TEMPLATE, classpath, new_cluster_id, render_properties


def test_template_renders_ports_and_log_dir() -> None:
    text = render_properties(TEMPLATE.read_text(), port=19092, controller_port=19093, log_dir=Path("/d/x"))
    props = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["log.dirs"] == "/d/x"
    assert props["process.roles"] == "broker,controller"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_missing_placeholder_value_is_an_error() -> None:
    with pytest.raises(KeyError):
        render_properties("a=${port}\nb=${unknown}", port=1, controller_port=2, log_dir=Path("/x"))


def test_cluster_ids_look_like_kafkas() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 22 and "=" not in i for i in ids)


def test_missing_jars_point_at_make_setup(tmp_path: Path) -> None:
    with pytest.raises(ServiceStartError, match="KAFKA_HOME"):
        classpath(tmp_path)
