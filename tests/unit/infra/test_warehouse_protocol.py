"""The ClickHouse HTTP request parsing, without a server."""

import gzip

import lz4.frame
import pytest

from infra.warehouse.protocol import BadRequest, decompress, parse


def test_query_in_body_with_settings_and_params() -> None:
    parsed = parse(
        "database=db1&max_threads=2&session_id=s&param_x=5&wait_end_of_query=1",
        {},
        b"SELECT {x:UInt8} FORMAT Native",
    )
    assert parsed.insert_target is None
    assert parsed.query.sql == "SELECT {x:UInt8} FORMAT Native"
    assert parsed.query.fmt == "Native"
    assert parsed.query.database == "db1"
    assert parsed.query.settings == {"max_threads": "2"}
    assert parsed.query.params == {"x": "5"}


def test_insert_with_query_in_url_takes_the_body_as_data() -> None:
    parsed = parse("query=INSERT+INTO+t+%28a%2C+b%29+FORMAT+Native", {}, b"\x02\x00binary")
    assert (parsed.insert_target, parsed.insert_format, parsed.insert_data) == (
        "t (a, b)",
        "Native",
        b"\x02\x00binary",
    )


def test_insert_with_data_after_the_first_line_of_the_body() -> None:
    parsed = parse("", {}, b"INSERT INTO db.t FORMAT TabSeparated\n1\tx\n")
    assert (parsed.insert_target, parsed.insert_format, parsed.insert_data) == (
        "db.t",
        "TabSeparated",
        b"1\tx\n",
    )


def test_values_insert_is_a_plain_query() -> None:
    parsed = parse("", {}, b"INSERT INTO t VALUES (1)")
    assert parsed.insert_target is None and parsed.query.sql == "INSERT INTO t VALUES (1)"


def test_url_query_and_body_concatenate() -> None:
    assert parse("query=SELECT+1", {}, b" + 1").query.sql == "SELECT 1 + 1"


def test_default_format_is_tab_separated_unless_asked() -> None:
    assert parse("", {}, b"SELECT 1").query.fmt == "TabSeparated"
    assert parse("default_format=JSONEachRow", {}, b"SELECT 1").query.fmt == "JSONEachRow"


@pytest.mark.parametrize(
    ("encoding", "encode"), [("gzip", gzip.compress), ("lz4", lz4.frame.compress), (None, lambda b: b)]
)
def test_compressed_bodies(encoding, encode) -> None:
    assert decompress(encode(b"SELECT 42"), encoding) == b"SELECT 42"


def test_bad_bodies_are_clickhouse_errors() -> None:
    with pytest.raises(BadRequest, match=r"Code: 353\..*gzip"):
        decompress(b"not gzip", "gzip")
    with pytest.raises(BadRequest, match=r"Code: 353\..*Unknown Content-Encoding"):
        decompress(b"x", "snappy2")
    with pytest.raises(BadRequest, match=r"Code: 62\..*Empty query"):
        parse("", {}, b"   ")
    with pytest.raises(BadRequest, match="UTF-8"):
        parse("", {}, b"\xff\xfe")
