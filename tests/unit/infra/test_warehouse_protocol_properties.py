"""Property-based tests of the embedded warehouse's request parsing (infra/warehouse/protocol.py).

Requests are built with the standard library's URL encoding and compressors, the way
any HTTP client would send them, not with the parser's own helpers.
"""

from __future__ import annotations

import gzip
import zlib
from urllib.parse import urlencode

import lz4.frame
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from infra.warehouse.protocol import HTTP_ONLY, BadRequest, decompress, parse

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}(\.[A-Za-z_][A-Za-z0-9_]{0,20})?", fullmatch=True)
formats = st.sampled_from(["Native", "TabSeparated", "JSONEachRow", "RowBinary", "CSV", "Parquet"])
setting_names = st.from_regex(r"[a-z][a-z_]{0,24}", fullmatch=True)


@given(st.text(max_size=200), st.binary(max_size=300), st.sampled_from([None, "gzip", "deflate", "lz4", "x"]))
def test_any_request_parses_or_is_refused_with_a_clickhouse_error(
    url_query: str, body: bytes, encoding: str | None
) -> None:
    headers = {"Content-Encoding": encoding} if encoding else {}
    try:
        parse(url_query, headers, body)
    except BadRequest as exc:
        assert str(exc).startswith(f"Code: {exc.code}. DB::Exception: ")


@given(identifiers, formats, st.binary(max_size=500))
def test_insert_in_the_body_takes_everything_after_its_first_line_as_data(
    target: str, fmt: str, data: bytes
) -> None:
    parsed = parse("", {}, f"INSERT INTO {target} FORMAT {fmt}\n".encode() + data)
    assert (parsed.insert_target, parsed.insert_format, parsed.insert_data) == (target, fmt, data)


@given(identifiers, formats, st.binary(max_size=500))
def test_insert_in_the_url_takes_the_whole_body_as_data(target: str, fmt: str, data: bytes) -> None:
    parsed = parse(urlencode({"query": f"INSERT INTO {target} FORMAT {fmt}"}), {}, data)
    assert (parsed.insert_target, parsed.insert_format, parsed.insert_data) == (target, fmt, data)


@given(
    st.dictionaries(setting_names, st.text(max_size=20), max_size=6),
    st.dictionaries(setting_names, st.text(max_size=20), max_size=4),
    st.text(min_size=1, max_size=50).filter(str.strip),
)
def test_url_parameters_split_into_settings_bound_parameters_and_http_options(
    settings: dict[str, str], bound: dict[str, str], sql: str
) -> None:
    params = {**settings, **{f"param_{k}": v for k, v in bound.items()}, "query": sql}
    parsed = parse(urlencode(params), {}, b"")
    assert parsed.query.settings == {k: v for k, v in settings.items() if k not in HTTP_ONLY}
    assert parsed.query.params == bound
    assert parsed.query.database == settings.get("database") or parsed.query.database is None


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("lz4", lz4.frame.compress)],
)
@given(data=st.binary(max_size=2000))
def test_compressed_bodies_come_back_byte_for_byte(encoding: str, compress: object, data: bytes) -> None:
    assert callable(compress)
    assert decompress(compress(data), encoding) == data


@given(st.text(max_size=80), st.binary(max_size=300))
@example(sql="SELECT 1", body=b"\x80")
def test_a_query_in_the_url_with_any_body_parses_or_is_refused(sql: str, body: bytes) -> None:
    """clickhouse-server appends the body to the URL's query; a body that is not UTF-8
    text (and not INSERT data) is refused like any other bad request."""
    try:
        parse(urlencode({"query": sql}), {}, body)
    except BadRequest as exc:
        assert str(exc).startswith(f"Code: {exc.code}. DB::Exception: ")
