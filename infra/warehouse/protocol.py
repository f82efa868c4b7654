"""The ClickHouse HTTP interface, request side: URL parameters, headers and body to a query.

As clickhouse-server does: the query is the ``query`` URL parameter followed by the
request body; ``INSERT ... FORMAT <fmt>`` takes the rest of the body as data; URL
parameters are settings except the HTTP-only ones handled here; ``param_<name>`` binds
``{name:Type}`` query parameters. Request bodies may be compressed (Content-Encoding).
A ``multipart/form-data`` body carries such parameters as form fields (clickhouse-connect
sends long bind parameters this way; clickhouse-server reads them like URL parameters).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from foundation.exceptions import OrbitstreamError
from infra.warehouse.engine import QueryRequest

# Parameters that steer the HTTP exchange rather than the query.
HTTP_ONLY = frozenset(
    {
        "query",
        "database",
        "default_format",
        "session_id",
        "session_timeout",
        "session_check",
        "query_id",
        "user",
        "password",
        "quota_key",
        "compress",
        "decompress",
        "enable_http_compression",
        "http_zlib_compression_level",
        "wait_end_of_query",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "buffer_size",
        "client_protocol_version",
        "http_response_buffer_size",
        "role",
        "http_native_compression_disable_checksumming_on_decompress",
    }
)

_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(?P<target>.+?)\s+FORMAT\s+(?P<fmt>\w+)[ \t]*\r?\n?", re.I | re.S)
_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)


class BadRequest(OrbitstreamError):
    """A request that is not a ClickHouse HTTP request; ``str()`` is ClickHouse-style text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Code: {code}. DB::Exception: {message}")
        self.code = code


@dataclass
class ParsedRequest:
    query: QueryRequest
    insert_target: str | None = None
    insert_format: str | None = None
    insert_data: bytes = b""
    query_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def decompress(body: bytes, encoding: str | None) -> bytes:
    """Undo the Content-Encoding clickhouse-connect (or curl) applied to the body."""
    enc = (encoding or "").strip().lower()
    try:
        if enc in ("", "identity", "none"):
            return body
        if enc == "gzip":
            return gzip.decompress(body)
        if enc == "deflate":
            return zlib.decompress(body)
        if enc == "lz4":
            import lz4.frame

            data: bytes = lz4.frame.decompress(body)
            return data
        if enc == "zstd":
            try:
                from compression import zstd
            except ImportError:
                from backports import zstd
            data = zstd.decompress(body)
            return data
        if enc == "br":
            import brotli

            data = brotli.decompress(body)
            return data
    except BadRequest:
        raise
    except Exception as exc:
        raise BadRequest(353, f"Cannot decompress request body ({enc}): {exc}") from exc
    raise BadRequest(353, f"Unknown Content-Encoding: {encoding}")


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a ``multipart/form-data`` body (names and text values)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise BadRequest(27, "multipart/form-data body without its boundary")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise BadRequest(27, "form-data part without a name")
        payload = part.get_payload(decode=True)
        fields[name] = payload.decode("utf-8") if isinstance(payload, bytes) else ""
    return fields


def parse(
    url_query: str, headers: Mapping[str, str], body: bytes, default_format: str = "TabSeparated"
) -> ParsedRequest:
    """Turn one HTTP request into what the engine should run."""
    params = dict(parse_qsl(url_query, keep_blank_values=True))
    body = decompress(body, headers.get("Content-Encoding"))
    content_type = headers.get("Content-Type") or ""
    if content_type.lower().startswith("multipart/form-data"):
        params.update(form_fields(content_type, body))
        body = b""
    head = params.get("query", "")
    database = params.get("database") or headers.get("X-ClickHouse-Database") or None
    settings = {k: v for k, v in params.items() if k not in HTTP_ONLY and not k.startswith("param_")}
    bound = {k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")}
    fmt = params.get("default_format") or headers.get("X-ClickHouse-Format") or default_format

    text_head = head
    if not head:
        # Everything is in the body: an INSERT's data follows its first line.
        match = _INSERT.match(body[:65536].decode("utf-8", errors="replace"))
        if match is not None:
            header_bytes = len(match.group(0).encode("utf-8"))
            request = QueryRequest(sql="", fmt=fmt, database=database, settings=settings, params=bound)
            return ParsedRequest(
                request,
                match.group("target"),
                match.group("fmt"),
                body[header_bytes:],
                params.get("query_id"),
            )
        try:
            text_head = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(62, f"Query is not valid UTF-8 at byte {exc.start}") from exc
        body = b""
    match = _INSERT.match(text_head + "\n")
    if match is not None and match.end() >= len(text_head.rstrip()):
        request = QueryRequest(sql="", fmt=fmt, database=database, settings=settings, params=bound)
        return ParsedRequest(request, match.group("target"), match.group("fmt"), body, params.get("query_id"))
    try:
        sql = text_head + (body.decode("utf-8") if body else "")
    except UnicodeDecodeError as exc:
        # clickhouse-server appends the body to the URL's query text: not text, not a query.
        at = len(text_head.encode()) + exc.start
        raise BadRequest(62, f"Query is not valid UTF-8 at byte {at}") from exc
    if not sql.strip():
        raise BadRequest(62, "Empty query.")
    explicit = _FORMAT.search(sql)
    if explicit is not None:
        fmt = explicit.group(1)
    return ParsedRequest(
        QueryRequest(sql=sql, fmt=fmt, database=database, settings=settings, params=bound),
        query_id=params.get("query_id"),
    )
