"""The ClickHouse engine in-process (chdb), one session on a data directory on disk.

chdb runs one query at a time per session, so every call takes the lock; the HTTP server
serves clients concurrently and they queue here. Per-request settings and the current
database are applied before the query and reset after, inside the same locked section,
so one client's settings never leak into another's query.

The session behaves as clickhouse-server does: chdb's ``implicit_select`` (``1+1`` as a
query) is off, and errors carry ClickHouse's own text once (chdb prefixes it twice).
``stop()`` refuses every query from then on and closes the session once the query in
progress is done, so the process can exit without chdb running under a dying interpreter.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from chdb import session as chdb_session

from foundation.exceptions import OrbitstreamError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Session settings that make chdb answer as clickhouse-server (restored after a request's own).
BASELINE = {"implicit_select": "0"}
_WRAPPED = re.compile(r"^(?:Code: (\d+)\. DB::Exception: )+(.*)$", re.S)
_TAIL = re.compile(r" \(\w+\) \(version [^)]*\)")


def server_text(message: str) -> str:
    """ClickHouse's exception text once: chdb wraps it in its own "Code: N. DB::Exception: "
    and repeats the "(NAME) (version ...)" tail, once or more."""
    match = _WRAPPED.match(message.strip())
    if match is None:
        return message
    code, rest = match.groups()
    tail = _TAIL.search(rest)
    return f"Code: {code}. DB::Exception: {rest[: tail.end()] if tail else rest}"


# Formats that carry their column types: read as they are, without the target's structure.
SELF_DESCRIBING = frozenset({"Native", "Arrow", "ArrowStream", "Parquet", "ORC", "Avro"})


class EngineError(OrbitstreamError):
    """A query failed; ``str()`` is ClickHouse's own ``Code: N. DB::Exception: ...`` text."""

    def __init__(self, message: str) -> None:
        message = server_text(message)
        super().__init__(message)
        match = re.search(r"Code: (\d+)", message)
        self.code = int(match.group(1)) if match else 1000


def _sql_literal(value: str) -> str:
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class QueryRequest:
    sql: str
    fmt: str = "TabSeparated"
    database: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


class ChdbEngine:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._session = chdb_session.Session(str(data_dir))
        self._lock = threading.Lock()
        self._stopping = False
        self._spool = data_dir / ".spool"
        self._spool.mkdir(exist_ok=True)
        for name, value in BASELINE.items():
            self._run(f"SET {name} = {value}")
        rows = self._run("SELECT DISTINCT name, code FROM system.errors", "TSV", settings_zero=True)
        self.error_codes = dict(
            (name, int(code)) for name, code in (line.split("\t") for line in rows.decode().splitlines())
        )

    def stop(self, timeout: float) -> bool:
        """Refuse new queries, wait up to ``timeout`` s for the one running, close the session.

        Returns whether the session was closed (False: a query still runs; exit anyway).
        """
        self._stopping = True
        if not self._lock.acquire(timeout=max(timeout, 0.0)):
            return False
        try:
            self._session.close()
            return True
        finally:
            self._lock.release()

    def _check_running(self) -> None:
        if self._stopping:
            raise EngineError("Code: 236. DB::Exception: The server is shutting down. (ABORTED)")

    def _run(
        self,
        sql: str,
        fmt: str = "TabSeparated",
        params: dict[str, str] | None = None,
        settings_zero: bool = False,
    ) -> bytes:
        if settings_zero:  # list every error code, not only those raised so far
            sql += " SETTINGS system_events_show_zero_values = 1"
        try:
            result = self._session.query(sql, fmt, params=params or None)
        except Exception as exc:
            raise EngineError(str(exc)) from exc
        data: bytes = result.bytes()
        return data

    def _with_context(self, request: QueryRequest, body: str, fmt: str) -> bytes:
        applied: list[str] = []
        try:
            if request.database:
                if not _IDENTIFIER.match(request.database):
                    raise EngineError(
                        f"Code: 81. DB::Exception: Database {request.database!r} does not exist."
                    )
                self._run(f"USE {request.database}")
            for name, value in request.settings.items():
                if not _IDENTIFIER.match(name):
                    raise EngineError(f"Code: 115. DB::Exception: Unknown setting {name!r}.")
                self._run(f"SET {name} = {_sql_literal(value)}")
                applied.append(name)
            return self._run(body, fmt, request.params)
        finally:
            for name in applied:
                try:
                    restore = BASELINE.get(name, "DEFAULT")
                    self._run(f"SET {name} = {restore}")
                except EngineError:
                    pass
            if request.database:
                self._run("USE default")

    def query(self, request: QueryRequest) -> bytes:
        with self._lock:
            self._check_running()
            return self._with_context(request, request.sql, request.fmt)

    def insert(self, request: QueryRequest, target: str, data_format: str, data: bytes) -> None:
        """``INSERT INTO target FORMAT fmt`` + data: the data is spooled to a file chdb reads."""
        fd, path = tempfile.mkstemp(dir=self._spool, suffix=f".{data_format.lower()}")
        try:
            with os.fdopen(fd, "wb") as spool:
                spool.write(data)
            with self._lock:
                self._check_running()
                structure = "" if data_format in SELF_DESCRIBING else self._structure(request, target)
                source = f"file('{path}', '{data_format}'{structure})"
                self._with_context(request, f"INSERT INTO {target} SELECT * FROM {source}", "TabSeparated")
        finally:
            os.unlink(path)

    def _structure(self, request: QueryRequest, target: str) -> str:
        """Text formats carry no types: read them with the target columns' types."""
        match = re.match(r"\s*([^\s(]+)\s*(?:\((.*)\))?\s*$", target, re.DOTALL)
        if match is None:
            raise EngineError(f"Code: 62. DB::Exception: Cannot parse insert target {target!r}.")
        table, columns = match.group(1), match.group(2)
        described = self._with_context(request, f"DESCRIBE TABLE {table}", "TabSeparated").decode()
        types = dict(line.split("\t")[:2] for line in described.splitlines() if line)
        names = [c.strip().strip('`"') for c in columns.split(",")] if columns else list(types)
        try:
            return ", '" + ", ".join(f"`{n}` {types[n]}" for n in names).replace("'", "\\'") + "'"
        except KeyError as exc:
            raise EngineError(
                f"Code: 16. DB::Exception: No such column {exc.args[0]} in table {table}."
            ) from exc
