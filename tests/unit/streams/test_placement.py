"""Each worker on a host claims its own directory and web port."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from foundation.settings import Settings
from streams.placement import (
    BASE_METRICS_PORT,
    BASE_WEB_PORT,
    MAX_SLOTS,
    PlacementError,
    choose_web_port,
    claim,
    port_is_free,
)


def _settings(root: Path, **worker: object) -> Settings:
    return Settings(worker={"data_dir": root, **worker})


def test_workers_with_the_same_settings_get_their_own_directories_and_get_them_back(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "var" / "worker", web_port=0, metrics_port=0)
    first, second = claim(settings), claim(settings)
    root = (tmp_path / "var" / "worker").resolve()
    assert (first.name, first.data_dir, second.name, second.data_dir) == (
        "worker-0",
        root / "worker-0",
        "worker-1",
        root / "worker-1",
    )
    assert json.loads((root / "worker-1.lock").read_text()) == {
        "name": "worker-1",
        "pid": os.getpid(),
        "web_port": 0,
        "metrics_port": 0,
        "data_dir": str(root / "worker-1"),
    }
    applied = second.apply(settings).worker
    assert (applied.name, applied.data_dir, applied.web_port, applied.metrics_port) == (
        "worker-1",
        root / "worker-1",
        0,
        0,
    )
    # A worker that stopped frees its slot: the next one to start takes it, state and all.
    first.release()
    again = claim(settings)
    assert again.name == "worker-0"
    for placement in (second, again):
        placement.release()


def test_a_configured_name_is_used_and_cannot_be_claimed_twice(tmp_path: Path) -> None:
    settings = _settings(tmp_path, name="blue", web_port=7001)
    blue = claim(settings)
    assert (blue.name, blue.data_dir, blue.web_port) == ("blue", tmp_path.resolve() / "blue", 7001)
    with pytest.raises(PlacementError, match="worker name 'blue' is in use by another worker under"):
        claim(settings)
    blue.release()


def test_the_web_port_follows_the_slot_unless_taken_or_configured() -> None:
    assert choose_web_port(7001, 3) == 7001
    assert choose_web_port(0, 3) == 0  # 0: no web server
    slot = next(s for s in range(MAX_SLOTS) if port_is_free(BASE_WEB_PORT + s))
    assert choose_web_port(None, slot) == BASE_WEB_PORT + slot
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", BASE_WEB_PORT + slot))
        taken.listen()
        other = choose_web_port(None, slot)
        assert other != BASE_WEB_PORT + slot and port_is_free(other)
    named = choose_web_port(None, None)  # a named worker has no slot number: any free port
    assert named > 0 and port_is_free(named)


def test_the_metrics_port_follows_the_slot_like_the_web_port(tmp_path: Path) -> None:
    slots = [s for s in range(MAX_SLOTS) if port_is_free(BASE_METRICS_PORT + s)]
    if slots[:2] != [0, 1]:
        pytest.skip("metrics ports 9200/9201 are taken on this host")
    settings = _settings(tmp_path, web_port=0)
    first, second = claim(settings), claim(settings)
    assert (first.metrics_port, second.metrics_port) == (BASE_METRICS_PORT, BASE_METRICS_PORT + 1)
    assert second.apply(settings).worker.metrics_port == BASE_METRICS_PORT + 1
    assert json.loads((tmp_path.resolve() / "worker-1.lock").read_text())["metrics_port"] == 9201
    configured = claim(_settings(tmp_path, web_port=0, metrics_port=0))  # 0: not served
    assert configured.metrics_port == 0
    for placement in (first, second, configured):
        placement.release()
