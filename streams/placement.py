"""Where a worker lives on its host: its own state directory and its own web port.

"Run more to scale" means several workers with the same settings on one host, so the
defaults must not collide. A worker claims a *slot*: ``<data_dir>/<name>`` with an
exclusive ``flock`` on ``<data_dir>/<name>.lock``, held for the life of the process and
released by the OS when it dies. Without a configured name it takes the first
``worker-<n>`` nobody holds, so a restarted worker gets its old directory (and RocksDB
state) back, and two workers starting at once never pick the same one. The web port
follows the slot (6066 + n for ``worker-<n>``, the next free port if that one is taken)
unless configured, and so does the Prometheus metrics port (9200 + n); the lock file
records the worker's pid, ports and directory so tools and people can find a worker's
``/health/`` and ``/metrics``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from foundation.exceptions import OrbitstreamError
from foundation.settings import Settings

log = logging.getLogger(__name__)

BASE_WEB_PORT = 6066
BASE_METRICS_PORT = 9200
MAX_SLOTS = 256
WEB_BIND = "127.0.0.1"


class PlacementError(OrbitstreamError):
    """No slot could be claimed for this worker."""


@dataclass
class Placement:
    """A claimed slot; keep it referenced for as long as the worker runs (it holds the lock)."""

    name: str
    data_dir: Path
    web_port: int  # 0: no web server
    lock: IO[str]
    metrics_port: int = 0  # 0: no metrics endpoint

    def apply(self, settings: Settings) -> Settings:
        worker = settings.worker.model_copy(
            update={
                "name": self.name,
                "data_dir": self.data_dir,
                "web_port": self.web_port,
                "metrics_port": self.metrics_port,
            }
        )
        return settings.model_copy(update={"worker": worker})

    def release(self) -> None:
        self.lock.close()


def port_is_free(port: int, host: str = WEB_BIND) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _any_free_port(host: str = WEB_BIND) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def choose_web_port(configured: int | None, slot: int | None, base: int = BASE_WEB_PORT) -> int:
    """The configured port; else the slot's own port (``base`` + slot) if free; else any free port."""
    if configured is not None:
        return configured
    if slot is not None and slot < MAX_SLOTS and port_is_free(base + slot):
        return base + slot
    return _any_free_port()


def _try_lock(path: Path) -> IO[str] | None:
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def claim(settings: Settings) -> Placement:
    """Claim this worker's slot under ``settings.worker.data_dir`` (made absolute)."""
    root = settings.worker.data_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    configured = settings.worker.name
    candidates = [configured] if configured else [f"worker-{n}" for n in range(MAX_SLOTS)]
    for name in candidates:
        lock = _try_lock(root / f"{name}.lock")
        if lock is None:
            continue
        slot = None if configured else int(name.rsplit("-", 1)[1])
        placement = Placement(
            name,
            root / name,
            choose_web_port(settings.worker.web_port, slot),
            lock,
            choose_web_port(settings.worker.metrics_port, slot, BASE_METRICS_PORT),
        )
        lock.truncate(0)
        lock.write(
            json.dumps(
                {
                    "name": name,
                    "pid": os.getpid(),
                    "web_port": placement.web_port,
                    "metrics_port": placement.metrics_port,
                    "data_dir": str(placement.data_dir),
                }
            )
        )
        lock.flush()
        health = f"http://{WEB_BIND}:{placement.web_port}/health/" if placement.web_port else "no web port"
        log.info("worker %s: state in %s, %s", name, placement.data_dir, health)
        return placement
    if configured:
        raise PlacementError(f"worker name {configured!r} is in use by another worker under {root}")
    raise PlacementError(f"all {MAX_SLOTS} worker slots under {root} are in use")
