"""The embedded warehouse through clickhouse-connect, exactly as against clickhouse-server."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from infra.warehouse.process import EmbeddedWarehouse

pytestmark = pytest.mark.integration

COLUMNS = ["id", "name", "score", "at", "kind", "maybe", "tags", "attrs", "uid", "flag", "delta"]
DDL = """
CREATE TABLE t (
  id UInt64, name String, score Float64, at DateTime64(3, 'UTC'), kind LowCardinality(String),
  maybe Nullable(Int32), tags Array(String), attrs Map(String, String), uid UUID, flag Bool, delta Int32
) ENGINE = MergeTree ORDER BY id
"""


def _rows(n: int, start: int = 0) -> list[list]:
    return [
        [
            i,
            f"name-{i}",
            i / 4,
            datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC),
            "a" if i % 2 else "b",
            None if i % 3 == 0 else -i,
            [f"t{i}", "x"],
            {"k": str(i)},
            uuid.UUID(int=i + 1),
            i % 2 == 0,
            -i,
        ]
        for i in range(start, start + n)
    ]


def test_command_insert_query_round_trip_every_type(ch_client) -> None:
    ch_client.command(DDL)
    ch_client.insert("t", _rows(5), column_names=COLUMNS)
    rows = ch_client.query("SELECT * FROM t ORDER BY id").result_rows
    assert len(rows) == 5
    row3 = rows[3]
    assert row3[:3] == (3, "name-3", 0.75)
    assert row3[3].replace(tzinfo=UTC) == datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert row3[4:] == ("a", None, ["t3", "x"], {"k": "3"}, uuid.UUID(int=4), False, -3)
    assert ch_client.command("SELECT sum(id) FROM t") == 10


def test_query_df_query_arrow_and_parameters(ch_client) -> None:
    ch_client.command(DDL)
    ch_client.insert("t", _rows(10), column_names=COLUMNS)
    df = ch_client.query_df("SELECT kind, count() AS n FROM t GROUP BY kind ORDER BY kind")
    assert df.to_dict("records") == [{"kind": "a", "n": 5}, {"kind": "b", "n": 5}]
    table = ch_client.query_arrow("SELECT id, name FROM t WHERE id < 3 ORDER BY id")
    assert table.column("id").to_pylist() == [0, 1, 2]
    assert table.column("name").to_pylist() == ["name-0", "name-1", "name-2"]
    result = ch_client.query(
        "SELECT count() FROM t WHERE id >= {lo:UInt64} AND kind = {k:String}", parameters={"lo": 4, "k": "b"}
    )
    assert result.result_rows == [(3,)]  # 4, 6, 8
    assert ch_client.query("SELECT toDecimal64(1.25, 2)").result_rows == [(Decimal("1.25"),)]


def test_compressed_inserts_and_per_query_settings(warehouse: EmbeddedWarehouse, ch_database: str) -> None:
    compressed = warehouse.client(database=ch_database, compress="lz4")
    compressed.command(DDL)
    compressed.insert("t", _rows(100), column_names=COLUMNS)
    gz = warehouse.client(database=ch_database, compress="gzip")
    gz.insert("t", _rows(50, start=100), column_names=COLUMNS)
    assert gz.command("SELECT count() FROM t") == 150
    settings = gz.query("SELECT getSetting('max_threads')", settings={"max_threads": 1}).result_rows
    assert settings == [(1,)]
    # Settings of one query do not leak into the next.
    assert gz.query("SELECT getSetting('max_threads')").result_rows != [(1,)]


def test_second_client_inserts_while_first_queries(warehouse: EmbeddedWarehouse, ch_database: str) -> None:
    writer, reader = warehouse.client(database=ch_database), warehouse.client(database=ch_database)
    writer.command(DDL)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for batch in range(20):
                writer.insert("t", _rows(25, start=batch * 25), column_names=COLUMNS)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    seen = []
    while thread.is_alive():
        seen.append(reader.command("SELECT count() FROM t"))
    thread.join()
    assert errors == []
    assert seen == sorted(seen), "counts only grow while the writer inserts"
    assert reader.command("SELECT count() FROM t") == 500
    assert reader.command("SELECT uniqExact(id) FROM t") == 500


def _post(url: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_bad_requests_get_clickhouse_errors_and_the_server_keeps_serving(
    warehouse: EmbeddedWarehouse, ch_client, ch_database: str
) -> None:
    ch_client.command(DDL)
    with pytest.raises(DatabaseError, match="Code: 62"):
        ch_client.query("SELEC 1")
    with pytest.raises(DatabaseError, match="Code: 60"):
        ch_client.query("SELECT * FROM no_such_table")
    with pytest.raises(DatabaseError, match="Code: 81"):
        warehouse.client(database="no_such_database_x").query("SELECT 1")
    insert = f"{warehouse.url}/?database={ch_database}&query=INSERT%20INTO%20t%20(id)%20FORMAT%20Native"
    status, headers, body = _post(insert, b"\x01\x01\x02id\x06UInt64\x01\x02")  # 8-byte value cut short
    assert status == 500
    assert body.startswith(b"Code: 33. DB::Exception:")
    assert headers["X-ClickHouse-Exception-Code"] == "33"
    status, _, body = _post(f"{warehouse.url}/", b"")
    assert status == 400 and body.startswith(b"Code: 62.")
    status, _, body = _post(f"{warehouse.url}/", b"\xff\xfe not utf-8")
    assert status == 400 and b"UTF-8" in body
    assert ch_client.command("SELECT count() FROM t") == 0
    assert ch_client.command("SELECT 40 + 2") == 42


def test_text_format_inserts_in_the_body(warehouse: EmbeddedWarehouse, ch_client, ch_database: str) -> None:
    ch_client.command("CREATE TABLE kv (k String, v UInt32) ENGINE = MergeTree ORDER BY k")
    status, _, _ = _post(
        f"{warehouse.url}/?database={ch_database}", b"INSERT INTO kv FORMAT TabSeparated\na\t1\nb\t2\n"
    )
    assert status == 200
    status, _, _ = _post(
        f"{warehouse.url}/?database={ch_database}&query=INSERT%20INTO%20kv%20FORMAT%20JSONEachRow",
        b'{"k": "c", "v": 3}\n',
    )
    assert status == 200
    status, _, body = _post(
        f"{warehouse.url}/?database={ch_database}", b"SELECT k, v FROM kv ORDER BY k FORMAT CSV"
    )
    assert (status, body) == (200, b'"a",1\n"b",2\n"c",3\n')


def test_data_persists_across_a_restart(tmp_path) -> None:
    with EmbeddedWarehouse(tmp_path / "wh") as first:
        client = first.client()
        client.command("CREATE TABLE keep (x UInt8) ENGINE = MergeTree ORDER BY x")
        client.insert("keep", [[7], [9]], column_names=["x"])
        port = first.port
    with EmbeddedWarehouse(tmp_path / "wh", port=port) as second:
        assert second.client().query("SELECT x FROM keep ORDER BY x").result_rows == [(7,), (9,)]


# clickhouse-server's answers (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp): the code's
# status group, the code in X-ClickHouse-Exception-Code, the exception text once.
@pytest.mark.parametrize(
    ("sql", "code", "status"),
    [
        ("1+1", 62, 400),  # not a query for clickhouse-server (no implicit SELECT)
        ("SELEC 1", 62, 400),
        ("SELECT * FROM no_such_table", 60, 404),
        ("SELECT no_such_column", 47, 404),
        ("SELECT 1 FORMAT NoSuchFormat", 73, 404),
        ("SELECT throwIf(1)", 395, 500),
    ],
)
def test_errors_have_clickhouse_servers_code_status_and_text(
    warehouse: EmbeddedWarehouse, sql: str, code: int, status: int
) -> None:
    got, headers, body = _post(f"{warehouse.url}/", sql.encode())
    assert (got, headers["X-ClickHouse-Exception-Code"]) == (status, str(code))
    assert body.startswith(f"Code: {code}. DB::Exception: ".encode())
    assert body.count(b"DB::Exception") == 1, body


def test_an_unknown_setting_is_code_115_not_found_and_request_settings_do_not_leak(
    warehouse: EmbeddedWarehouse,
) -> None:
    status, headers, body = _post(f"{warehouse.url}/?no_such_setting_x=1", b"SELECT 1")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (404, "115")
    assert body.startswith(b"Code: 115. DB::Exception: Unknown setting 'no_such_setting_x'")
    # A client may ask for implicit_select itself; the next request is back to the server's default.
    assert _post(f"{warehouse.url}/?implicit_select=1", b"1+1")[::2] == (200, b"2\n")
    assert _post(f"{warehouse.url}/", b"1+1")[0] == 400


def test_a_typo_through_clickhouse_connect_reports_the_position_in_the_users_query(ch_client) -> None:
    with pytest.raises(DatabaseError, match=r"failed at position 1 \(SELEC\)"):
        ch_client.query("SELEC 1")


def test_bind_parameters_sent_as_form_data_are_read_like_url_parameters(
    warehouse: EmbeddedWarehouse, ch_client, ch_database: str
) -> None:
    ch_client.command(DDL)
    ch_client.insert("t", _rows(300), column_names=COLUMNS)
    wanted = [f"name-{i}" for i in range(0, 300, 3)] + [f"missing-{i}" for i in range(400)]
    query = "SELECT count() FROM t WHERE name IN {names:Array(String)} AND id >= {low:UInt64}"
    # Over clickhouse-connect's URL budget: it sends the query and parameters as multipart form data.
    assert ch_client.query(query, parameters={"names": wanted, "low": 30}).result_rows == [(90,)]
    forced = warehouse.client(database=ch_database, form_encode_query_params=True)
    assert forced.query(query, parameters={"names": wanted[:5], "low": 0}).result_rows == [(5,)]
