"""Child processes the project starts (workers, sinks): own process group, log file, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from foundation.exceptions import ServiceStartError
from foundation.waiting import poll_until


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal a process group led by ``pid``; one already gone is no error."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def stop_group(pid: int, exited: Callable[[], bool], timeout: float) -> bool:
    """SIGTERM the group led by ``pid``, wait up to ``timeout`` s for ``exited()``, then SIGKILL
    what is left. Returns whether it stopped on SIGTERM."""
    signal_group(pid, signal.SIGTERM)
    if poll_until(exited, timeout):
        return True
    signal_group(pid, signal.SIGKILL)
    return False


class ManagedProcess:
    """A child in its own process group, so stopping it leaves no grandchild behind."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def python_module(
        cls, name: str, module: str, args: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> ManagedProcess:
        return cls(name, [sys.executable, "-m", module, *args], log_path, env)

    @classmethod
    def orbitstream(
        cls, name: str, args: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> ManagedProcess:
        """An ``orbitstream`` subcommand, run by this interpreter (``python -m orbitstream``)."""
        return cls.python_module(name, "orbitstream", args, log_path, env)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure_alive(self) -> None:
        if not self.alive():
            raise ServiceStartError(
                f"{self.name} exited (code {self.returncode}); log tail:\n{self.log_tail()}"
            )

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL the whole group: a crash, for tests that need one."""
        self._signal(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the group, wait, then SIGKILL what is left."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        if not stop_group(proc.pid, lambda: proc.poll() is not None, timeout):
            proc.wait()

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is not None:
            signal_group(self._proc.pid, sig)

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
