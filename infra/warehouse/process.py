"""The embedded warehouse as a child process, for the demo, tests and benchmarks."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import clickhouse_connect

from foundation.exceptions import ServiceStartError
from foundation.waiting import poll_until
from infra.kafka.broker import free_port
from infra.processes import ManagedProcess
from infra.warehouse.auth import PASSWORD_ENV


class EmbeddedWarehouse:
    """``with EmbeddedWarehouse(dir) as wh: wh.client()``: chdb over HTTP on a loopback port."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        user: str = "default",
        password: str = "",
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.user = user
        self._password = password
        self.port = port or free_port()
        self._proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60) -> EmbeddedWarehouse:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = ManagedProcess.orbitstream(
            "warehouse",
            [
                "warehouse",
                "serve",
                "--data-dir",
                str(self.data_dir / "data"),
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--user",
                self.user,
            ],
            self.data_dir / "warehouse.log",
            {PASSWORD_ENV: self._password},
        ).start()
        if poll_until(self._answers, timeout):
            return self
        self.stop()
        raise ServiceStartError(f"embedded warehouse not answering on {self.url}")

    def _answers(self) -> bool:
        """Whether the server answers ``/ping``; raises if its process has exited."""
        assert self._proc is not None
        self._proc.ensure_alive()
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as response:  # noqa: S310 - loopback
                return bool(response.read() == b"Ok.\n")
        except OSError:
            return False

    def client(self, database: str | None = None, **kwargs: Any) -> Any:
        """A clickhouse-connect client, exactly as against clickhouse-server."""
        kwargs.setdefault("compress", False)
        kwargs.setdefault("username", self.user)
        kwargs.setdefault("password", self._password)
        return clickhouse_connect.get_client(
            host=self.host, port=self.port, database=database or "default", **kwargs
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def stop(self, timeout: float = 20) -> None:
        if self._proc is not None:
            self._proc.stop(timeout)

    def __enter__(self) -> EmbeddedWarehouse:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
