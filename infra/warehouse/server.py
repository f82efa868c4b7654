"""The ClickHouse HTTP interface over chdb: what clickhouse-connect and curl talk to.

Errors come back as clickhouse-server sends them (the status it gives the code, see
errors.py; ``X-ClickHouse-Exception-Code`` and the ``Code: N. DB::Exception: ...`` text),
so clients raise their usual errors. A bad request never takes the server down: every
handler failure becomes such a response.

Stopping (``drain``): no new connections, every new request refused (code 236, the
connection closed), the requests in progress finished, then the engine closed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

from infra.warehouse.auth import REALM, REQUIRED_PASSWORD, AuthError, UserCheck
from infra.warehouse.engine import ChdbEngine, EngineError
from infra.warehouse.errors import status_map
from infra.warehouse.protocol import BadRequest, parse

log = logging.getLogger(__name__)

MAX_BODY = 512 * 1024 * 1024


class WarehouseHandler(BaseHTTPRequestHandler):
    server: WarehouseServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-ClickHouse-Server-Display-Name", "orbitstream-embedded")
        self.send_header("X-ClickHouse-Timezone", "UTC")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str, query_id: str, extra: dict[str, str] | None = None) -> None:
        text = message if message.startswith("Code:") else f"Code: {code}. DB::Exception: {message}"
        if self.server.stopping:
            self.close_connection = True
        self._send(
            self.server.status.get(code, 500),
            (text.rstrip() + "\n").encode(),
            {
                "Content-Type": "text/plain; charset=UTF-8",
                "X-ClickHouse-Exception-Code": str(code),
                "X-ClickHouse-Query-Id": query_id,
                **(extra or {}),
            },
        )

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path, _, url_query = self.path.partition("?")
        if path in ("/ping", "/") and not url_query:
            self._send(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        self._handle(url_query, b"")

    def _read_chunked(self) -> bytes:
        """Transfer-Encoding: chunked, as clickhouse-connect streams insert blocks."""
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise BadRequest(27, "Request body truncated: connection closed inside a chunk header")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise BadRequest(27, f"Request body larger than {MAX_BODY} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise BadRequest(27, f"Request body truncated: chunk of {len(chunk)} of {size} bytes")
            parts.append(chunk)
            self.rfile.readline(8)  # CRLF after the chunk

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise BadRequest(27, f"Bad Content-Length {self.headers.get('Content-Length')!r}") from exc
        if length < 0 or length > MAX_BODY:
            raise BadRequest(27, f"Bad Content-Length {length}")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise BadRequest(27, f"Request body truncated: {len(body)} of {length} bytes")
        return body

    def do_POST(self) -> None:  # noqa: N802
        _, _, url_query = self.path.partition("?")
        try:
            body = self._read_body()
        except (BadRequest, ValueError) as exc:
            self._error(getattr(exc, "code", 27), str(exc), "")
            self.close_connection = True
            return
        self._handle(url_query, body)

    def _handle(self, url_query: str, body: bytes) -> None:
        with self.server.tracking():
            self._handle_request(url_query, body)

    def _authenticated(self, url_query: str, query_id: str) -> bool:
        """Answer a refused request as clickhouse-server does; True if the request may run."""
        try:
            self.server.users.authenticate(
                dict(self.headers.items()), dict(parse_qsl(url_query, keep_blank_values=True))
            )
            return True
        except AuthError as exc:
            # The user name only: whatever password was sent stays out of the log.
            log.warning("refused a request from %s: %s", self.client_address[0], exc)
            extra = {"WWW-Authenticate": REALM} if exc.code == REQUIRED_PASSWORD else None
            self._error(exc.code, str(exc), query_id, extra)
            return False

    def _handle_request(self, url_query: str, body: bytes) -> None:
        query_id = str(uuid.uuid4())
        started = time.perf_counter_ns()
        if not self._authenticated(url_query, query_id):
            return
        try:
            parsed = parse(url_query, dict(self.headers.items()), body)
            query_id = parsed.query_id or query_id
            engine = self.server.engine
            if parsed.insert_target is not None and parsed.insert_format is not None:
                engine.insert(parsed.query, parsed.insert_target, parsed.insert_format, parsed.insert_data)
                result, fmt = b"", parsed.query.fmt
            else:
                result, fmt = engine.query(parsed.query), parsed.query.fmt
        except (EngineError, BadRequest) as exc:
            self._error(exc.code, str(exc), query_id)
            return
        except Exception as exc:  # never let one request take the server down
            log.exception("internal error")
            self._error(1001, f"{type(exc).__name__}: {exc}", query_id)
            return
        summary = {
            "read_rows": "0",
            "read_bytes": "0",
            "written_rows": "0",
            "written_bytes": "0",
            "total_rows_to_read": "0",
            "result_rows": "0",
            "result_bytes": str(len(result)),
            "elapsed_ns": str(time.perf_counter_ns() - started),
        }
        self._send(
            200,
            result,
            {
                "Content-Type": "application/octet-stream"
                if fmt in ("Native", "Arrow", "ArrowStream", "Parquet")
                else "text/plain; charset=UTF-8",
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Format": fmt,
                "X-ClickHouse-Summary": json.dumps(summary),
            },
        )


class WarehouseServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, data_dir: Path, users: UserCheck | None = None) -> None:
        self.users = users or UserCheck()
        self.engine = ChdbEngine(data_dir)
        self.status = status_map(self.engine.error_codes)
        self.stopping = False
        self._active = 0
        self._idle = threading.Condition()
        super().__init__((host, port), WarehouseHandler)

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Counts a request as in progress for the time of a ``with`` block."""
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Refuse new requests, let those in progress finish (``timeout`` s), close the engine.

        Call after ``shutdown()``. Returns whether everything finished in time.
        """
        deadline = time.monotonic() + timeout
        self.stopping = True
        with self._idle:
            idle = self._idle.wait_for(lambda: self._active == 0, timeout=timeout)
        closed = self.engine.stop(deadline - time.monotonic())
        return idle and closed
