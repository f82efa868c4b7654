"""Request bodies: bounded before they are read whole, JSON errors that say where."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from producers.exceptions import ProducerError


class BodyError(ProducerError):
    """A body the collector refuses; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_bounded(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed ``limit`` bytes.

    A declared Content-Length over the limit is refused before anything is read; a body
    without one (chunked) or one that lies is counted while it streams.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BodyError(400, f"Content-Length {declared!r} is not a number") from None
        if length > limit:
            raise BodyError(413, f"body of {length} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """The decoded JSON document, or 400 naming line, column and character position."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"body is not UTF-8: byte {exc.start}: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise BodyError(
            400, f"malformed JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}"
        ) from None
